// The whole client side — runner, workers, connections — against a small fake server on
// loopback that answers the way a test needs: out of order, late, never, or broken.

#include "tools/bench/load_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.Message.pb.h"
#include "tools/bench/bench_request.h"
#include "tools/bench/wire_frame.h"

namespace dbproxy::bench {
namespace {

struct OwnedFrame {
  FrameHeader header;
  std::string body;
};

// One accepted connection, seen from the fake server. Blocking I/O on its own thread.
class ServerSide {
 public:
  explicit ServerSide(int fd) : fd_(fd) {}

  // Blocks until at least one whole frame is buffered, then returns every whole frame.
  // Empty when the client has closed.
  std::vector<OwnedFrame> ReadFrames() {
    std::vector<OwnedFrame> frames;
    while (true) {
      FrameReader::Frame frame;
      FrameReader::Status status;
      while ((status = reader_.Next(&frame)) == FrameReader::kFrame) {
        frames.push_back({frame.header, std::string(frame.body)});
      }
      if (status == FrameReader::kBroken || !frames.empty()) {
        return frames;
      }
      char buffer[65536];
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n <= 0) {
        return frames;
      }
      reader_.Append(buffer, static_cast<size_t>(n));
    }
  }

  void Write(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) {
        return;
      }
      done += static_cast<size_t>(n);
    }
  }

  void Close() { shutdown(fd_, SHUT_RDWR); }

 private:
  int fd_;
  FrameReader reader_;
};

// Listens on 127.0.0.1:<free port>; runs `handler` for each accepted connection on its own
// thread. Stop() (or the destructor) stops accepting and joins the handlers, which end when
// the client closes.
class FakeServer {
 public:
  using Handler = std::function<void(ServerSide&)>;

  explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeServer() { Stop(); }

  void Stop() {
    if (!acceptor_.joinable()) {
      return;
    }
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    close(listen_fd_);
    std::lock_guard lock(mutex_);
    for (std::thread& thread : connections_) {
      thread.join();
    }
    for (int fd : fds_) {
      close(fd);
    }
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      ++accepted_;
      std::lock_guard lock(mutex_);
      fds_.push_back(fd);
      connections_.emplace_back([this, fd] {
        ServerSide side(fd);
        handler_(side);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<int> fds_;
  std::atomic<int> accepted_{0};
};

std::string Reply(const OwnedFrame& request) {
  std::string body;
  uint16_t command = 0;
  if (request.header.command_id == cid::kUnreadCntReq) {
    IM::Message::IMUnreadMsgCntReq req;
    req.ParseFromString(request.body);
    IM::Message::IMUnreadMsgCntRsp rsp;
    rsp.set_user_id(req.user_id());
    rsp.set_total_cnt(0);
    rsp.set_attach_data(req.attach_data());
    rsp.SerializeToString(&body);
    command = cid::kUnreadCntRsp;
  }
  std::string frame;
  AppendFrame(sid::kMsg, command, request.header.seq, body, &frame);
  return frame;
}

std::string MessageReply(const OwnedFrame& request, uint32_t msg_id) {
  IM::Message::IMMsgData msg;
  msg.ParseFromString(request.body);
  msg.set_msg_id(msg_id);
  std::string frame;
  AppendFrame(sid::kMsg, cid::kMsgData, request.header.seq, msg.SerializeAsString(), &frame);
  return frame;
}

std::string ServerFrame(uint16_t command) {
  std::string frame;
  AppendFrame(sid::kOther, command, 0, "", &frame);
  return frame;
}

BenchOptions UnreadOptions(uint16_t port, uint64_t requests) {
  BenchOptions options;
  options.scenario = ScenarioId::kUnreadEmpty;
  options.port = port;
  options.connections = 1;
  options.inflight = 8;
  options.requests = requests;
  options.warmup_s = 0;
  return options;
}

struct BenchRun {
  bool ok = false;
  std::string error;
  RunResult result;
  KindStats measured;
  KindStats prepare;
};

BenchRun RunWith(const BenchOptions& options) {
  BenchRun run;
  std::string error;
  std::unique_ptr<Scenario> scenario = Scenario::Create(options, &error);
  EXPECT_NE(scenario, nullptr) << error;
  const std::atomic<bool> stop{false};
  run.ok = RunBenchmark(options, *scenario, stop, &run.result, &run.error);
  run.measured = run.result.phase(Phase::kMeasure).Total();
  run.prepare = run.result.phase(Phase::kPrepare).Total();
  return run;
}

uint64_t Failures(const KindStats& stats, Failure failure) {
  return stats.failures[static_cast<size_t>(failure)];
}

TEST(LoadRunner, MatchesRepliesSentInReverseOrderAcrossTheSeqWrap) {
  std::atomic<int> requests{0};
  std::atomic<int> heartbeats_from_client{0};
  std::atomic<bool> saw_seq_zero{false};
  std::atomic<bool> saw_duplicate_in_batch{false};
  std::atomic<bool> wrapped{false};
  FakeServer server([&](ServerSide& side) {
    side.Write(ServerFrame(cid::kHeartbeat));
    uint16_t last_seq = 0;
    while (true) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      std::set<uint16_t> batch;
      std::string replies;
      for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
        if (it->header.command_id == cid::kHeartbeat) {
          ++heartbeats_from_client;
          continue;
        }
        ++requests;
        saw_seq_zero = saw_seq_zero || it->header.seq == 0;
        saw_duplicate_in_batch = saw_duplicate_in_batch || !batch.insert(it->header.seq).second;
        replies += Reply(*it);
      }
      for (const OwnedFrame& frame : frames) {
        if (frame.header.command_id != cid::kHeartbeat) {
          wrapped = wrapped || (last_seq == 65535 && frame.header.seq == 1);
          last_seq = frame.header.seq;
        }
      }
      side.Write(replies);
    }
  });
  const BenchRun run = RunWith(UnreadOptions(server.port(), 70'000));
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.measured.sent, 70'000u);
  EXPECT_EQ(run.measured.ok, 70'000u);
  EXPECT_EQ(run.measured.failed(), 0u);
  EXPECT_EQ(run.measured.latency.count(), 70'000u);
  EXPECT_EQ(requests.load(), 70'000);
  EXPECT_FALSE(saw_seq_zero.load());
  EXPECT_FALSE(saw_duplicate_in_batch.load());
  EXPECT_TRUE(wrapped.load());
  EXPECT_EQ(run.result.connections.unknown_replies, 0u);
  EXPECT_EQ(run.result.connections.late_replies, 0u);
  EXPECT_EQ(run.result.connections.heartbeats_received, 1u);
  EXPECT_EQ(heartbeats_from_client.load(), 1);
  EXPECT_GT(run.result.measure_window_s, 0.0);
}

TEST(LoadRunner, CountsATimeoutAndRecognisesItsLateReply) {
  FakeServer server([&](ServerSide& side) {
    std::vector<OwnedFrame> held = side.ReadFrames();  // first request: held back
    std::vector<OwnedFrame> next = side.ReadFrames();  // arrives once the first timed out
    if (held.empty() || next.empty()) {
      return;
    }
    side.Write(Reply(held[0]) + Reply(next[0]));
    while (true) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      for (const OwnedFrame& frame : frames) {
        side.Write(Reply(frame));
      }
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 3);
  options.inflight = 1;
  options.timeout_ms = 100;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.measured.sent, 3u);
  EXPECT_EQ(run.measured.ok, 2u);
  EXPECT_EQ(Failures(run.measured, Failure::kTimeout), 1u);
  EXPECT_EQ(run.measured.failed(), 1u);
  EXPECT_EQ(run.result.connections.late_replies, 1u);
  EXPECT_EQ(run.result.connections.unknown_replies, 0u);
}

TEST(LoadRunner, CountsMissingRepliesWhenTheServerClosesWithRequestsInFlight) {
  FakeServer server([&](ServerSide& side) {
    size_t received = 0;
    while (received < 4) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      received += frames.size();
    }
    side.Close();
  });
  BenchOptions options = UnreadOptions(server.port(), 100);
  options.inflight = 4;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.measured.sent, 4u);
  EXPECT_EQ(run.measured.ok, 0u);
  EXPECT_EQ(Failures(run.measured, Failure::kMissingReply), 4u);
  EXPECT_EQ(run.result.connections.closed_by_peer, 1u);
  EXPECT_EQ(run.result.open_at_end, 0u);
}

TEST(LoadRunner, CountsMessagesAnsweredWithMsgIdZeroInEveryPhase) {
  std::atomic<uint32_t> messages{0};
  FakeServer server([&](ServerSide& side) {
    while (true) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      for (const OwnedFrame& frame : frames) {
        const uint32_t k = ++messages;
        side.Write(MessageReply(frame, k % 2 == 0 ? 0 : k));
      }
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 10);
  options.scenario = ScenarioId::kSendExisting;
  options.users = UserRange{1, 4};  // 2 pairs, so 2 prepare messages
  options.inflight = 1;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.prepare.sent, 2u);
  EXPECT_EQ(run.prepare.ok, 1u);
  EXPECT_EQ(Failures(run.prepare, Failure::kMsgIdZero), 1u);
  EXPECT_EQ(run.measured.sent, 10u);
  EXPECT_EQ(run.measured.ok, 5u);
  EXPECT_EQ(Failures(run.measured, Failure::kMsgIdZero), 5u);
  EXPECT_EQ(run.measured.failed(), 5u);
}

TEST(LoadRunner, GivesUpOnAStreamWithAnImpossibleLength) {
  FakeServer server([&](ServerSide& side) {
    if (side.ReadFrames().empty()) {
      return;
    }
    std::string bad = ServerFrame(cid::kUnreadCntRsp);
    bad[3] = 8;  // length 8 < 16
    side.Write(bad);
    while (!side.ReadFrames().empty()) {
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 10);
  options.inflight = 1;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.result.connections.broken_streams, 1u);
  EXPECT_EQ(run.result.connections.closed_by_peer, 0u);
  EXPECT_EQ(Failures(run.measured, Failure::kMissingReply), 1u);
  EXPECT_EQ(run.result.open_at_end, 0u);
}

TEST(LoadRunner, StopsSendingOnAConnectionThatGotAStopNotice) {
  std::atomic<int> requests{0};
  FakeServer server([&](ServerSide& side) {
    std::vector<OwnedFrame> frames = side.ReadFrames();
    if (frames.empty()) {
      return;
    }
    requests += static_cast<int>(frames.size());
    side.Write(ServerFrame(cid::kStopReceive) + Reply(frames[0]));
    while (true) {
      frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      requests += static_cast<int>(frames.size());
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 100);
  options.inflight = 1;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.result.connections.stop_notices, 1u);
  EXPECT_EQ(run.measured.sent, 1u);
  EXPECT_EQ(run.measured.ok, 1u);
  EXPECT_EQ(requests.load(), 1);
}

TEST(LoadRunner, SpreadsConnectionsOverThreads) {
  FakeServer server([&](ServerSide& side) {
    while (true) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      std::string replies;
      for (const OwnedFrame& frame : frames) {
        replies += Reply(frame);
      }
      side.Write(replies);
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 3000);
  options.connections = 3;
  options.threads = 2;
  const BenchRun run = RunWith(options);
  const int accepted = server.accepted();
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(run.result.connections.opened, 3u);
  EXPECT_EQ(run.measured.ok, 3000u);
  EXPECT_EQ(run.measured.failed(), 0u);
}

TEST(LoadRunner, HoldsIdleConnectionsAndAnswersHeartbeats) {
  std::atomic<int> heartbeats_from_client{0};
  FakeServer server([&](ServerSide& side) {
    side.Write(ServerFrame(cid::kHeartbeat));
    while (true) {
      std::vector<OwnedFrame> frames = side.ReadFrames();
      if (frames.empty()) {
        return;
      }
      for (const OwnedFrame& frame : frames) {
        heartbeats_from_client += frame.header.command_id == cid::kHeartbeat ? 1 : 0;
      }
    }
  });
  BenchOptions options = UnreadOptions(server.port(), 1);
  options.requests.reset();
  options.scenario = ScenarioId::kIdle;
  options.connections = 2;
  options.duration_s = 0.3;
  const BenchRun run = RunWith(options);
  server.Stop();
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.measured.sent, 0u);
  EXPECT_EQ(run.result.open_at_end, 2u);
  EXPECT_EQ(run.result.connections.heartbeats_received, 2u);
  EXPECT_EQ(heartbeats_from_client.load(), 2);
  EXPECT_GE(run.result.measure_window_s, 0.3);
}

TEST(LoadRunner, FailsWhenNoConnectionCanBeOpened) {
  // A port that was free a moment ago: bind, read it, close.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);
  close(fd);
  BenchOptions options = UnreadOptions(port, 10);
  options.connections = 2;
  const BenchRun run = RunWith(options);
  EXPECT_FALSE(run.ok);
  EXPECT_EQ(run.error,
            "could not connect to 127.0.0.1:" + std::to_string(port) + " (2 attempts failed)");
}

}  // namespace
}  // namespace dbproxy::bench
