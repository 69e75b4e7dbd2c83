// Scenario 5 of issue 12: abusive peers during a well-behaved send load.
//
// A load of synchronous 0x0301 sends runs alone first (its throughput is the reference),
// then, at once:
//   (a) a client that sends 50,000 sends and never reads an answer;
//   (b) 500 connections that send half a frame header and then nothing;
//   (c) a connection whose first frame claims a length of 2^32-1 bytes;
//   (d) a connection that sends a header one byte at a time, never idle for long.
// The well-behaved load must keep at least half its alone throughput while they last;
// dbproxyd's RSS must stay under a bound made of its configured per-connection limits; the
// non-reader must be closed past server.max_output_buffer_bytes (after being held at
// server.max_inflight_per_connection), the stalled and trickled headers by
// server.frame_timeout_ms, the oversized one at once (each with its log line or metric);
// the daemon must answer afterwards; and every send of the load (and of the non-reader,
// whose answers nobody read) must satisfy invariants I1-I6 of tests/cluster/invariants.h.

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "tests/cluster/invariants.h"
#include "tests/fault/fault_harness.h"
#include "tests/fault/non_reader.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::fault {
namespace {

using Clock = std::chrono::steady_clock;
using cluster::Ledger;
using cluster::Outcome;
using cluster::SendRecord;

// The daemon's limits, written into its config (server_overrides) and used for the bounds.
constexpr uint32_t kMaxFrameBytes = 1024 * 1024;
constexpr uint32_t kOutputLimit = 2 * 1024 * 1024;  // server.max_output_buffer_bytes
constexpr uint32_t kQueueLimit = 4096;              // server.worker_queue_limit
constexpr uint32_t kIdleTimeoutMs = 3000;           // server.idle_timeout_ms
constexpr uint32_t kFrameTimeoutMs = 2000;          // server.frame_timeout_ms
constexpr int kWorkers = 4;

constexpr int kLoadThreads = 4;
constexpr auto kWarmUp = std::chrono::milliseconds(500);
constexpr auto kAloneTime = std::chrono::seconds(3);
constexpr int kNonReaderSends = 50000;
constexpr int kNonReaderBatch = 500;  // frames per write
constexpr size_t kNonReaderContentBytes = 1000;
constexpr uint32_t kNonReaderFrom = 901;
constexpr uint32_t kNonReaderTo = 902;
constexpr int kStalled = 500;
constexpr uint32_t kOversizedLength = 0xffffffffu;  // the largest a 32-bit length field holds

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string SendBody(uint32_t from, uint32_t to, const std::string& content, uint32_t n) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(0);
  m.set_create_time(1700000000u + n);
  m.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  m.set_msg_data(content);
  return m.SerializeAsString();
}

// The well-behaved load: kLoadThreads clients, each sending one 0x0301 at a time (waiting
// for its answer) on five pairs of its own, every send in the ledger.
class GoodLoad {
 public:
  GoodLoad(uint16_t port, Ledger* ledger) : port_(port), ledger_(ledger) {}
  ~GoodLoad() { Stop(); }

  void Start() {
    for (int t = 0; t < kLoadThreads; ++t) {
      threads_.emplace_back([this, t] { Run(t); });
    }
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      t.join();
    }
    threads_.clear();
  }
  // Sends answered with a msg_id so far.
  long answered() const { return answered_.load(); }
  long failed() const { return failed_.load(); }
  long max_latency_ms() const { return max_latency_ms_.load(); }

 private:
  void Run(int thread) {
    WireClient client;
    if (!client.Connect(port_)) {
      ADD_FAILURE() << "load connect: " << client.last_error();
      return;
    }
    for (uint32_t n = 0; !stop_; ++n) {
      SendRecord send;
      send.from = 101 + static_cast<uint32_t>(thread) * 10 + n % 5;
      send.to = send.from + 100;
      send.content = "good t" + std::to_string(thread) + " n" + std::to_string(n);
      Clock::time_point start = Clock::now();
      std::optional<WireClient::Frame> answer =
          client.Call(3, 0x0301, SendBody(send.from, send.to, send.content, n), 10000);
      long ms = static_cast<long>(Ms(Clock::now() - start));
      long seen = max_latency_ms_.load();
      while (ms > seen && !max_latency_ms_.compare_exchange_weak(seen, ms)) {
      }
      IM::Message::IMMsgData r;
      if (!answer || !r.ParseFromString(answer->body)) {
        send.outcome = Outcome::kUnanswered;
        ledger_->RecordSend(send);
        ++failed_;
        if (!client.Connect(port_)) {
          ADD_FAILURE() << "load reconnect: " << client.last_error();
          return;
        }
        continue;
      }
      send.outcome = r.msg_id() == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
      send.msg_id = r.msg_id();
      ledger_->RecordSend(send);
      ++(r.msg_id() == 0 ? failed_ : answered_);
    }
  }

  const uint16_t port_;
  Ledger* const ledger_;
  std::atomic<bool> stop_{false};
  std::atomic<long> answered_{0};
  std::atomic<long> failed_{0};
  std::atomic<long> max_latency_ms_{0};
  std::vector<std::thread> threads_;
};

// (a) Sends kNonReaderSends sends in batches without reading; each is in the ledger as
// unanswered (stored at most once).
struct NonReaderResult {
  int sent = 0;            // frames written (or part-written) before the daemon cut it off
  double cut_ms = -1;      // from the start until a write failed; -1: never cut off
  bool timed_out = false;  // a write waited past its timeout (the daemon stopped reading)
  bool closed = false;     // the daemon closed it (seen by draining afterwards)
  uint16_t local_port = 0;
};

void RunNonReader(uint16_t port, Ledger* ledger, Clock::time_point start, NonReaderResult* out) {
  NonReader peer;
  if (!peer.Connect(port, 10000)) {
    ADD_FAILURE() << "non-reader connect failed";
    return;
  }
  out->local_port = peer.local_port();
  const std::string pad(kNonReaderContentBytes, 'x');
  for (int n = 0; n < kNonReaderSends;) {
    std::string batch;
    for (int i = 0; i < kNonReaderBatch && n < kNonReaderSends; ++i, ++n) {
      SendRecord send;
      send.from = kNonReaderFrom;
      send.to = kNonReaderTo;
      send.content = "abuse n" + std::to_string(n) + " " + pad;
      send.outcome = Outcome::kUnanswered;
      batch += WireClient::EncodeFrame(WireClient::MakeFrame(
          3, 0x0301, static_cast<uint16_t>(n % 65535 + 1),
          SendBody(send.from, send.to, send.content, static_cast<uint32_t>(n))));
      ledger->RecordSend(std::move(send));
    }
    out->sent = n;
    if (!peer.Send(batch)) {
      out->cut_ms = Ms(Clock::now() - start);
      out->timed_out = peer.timed_out();
      break;
    }
  }
  out->closed = peer.DrainUntilClosed(15000) >= 0;
}

// (b) kStalled connections, each with the first 8 bytes of a header and then silence;
// records when the daemon closes each one.
struct StalledResult {
  int connected = 0;
  int closed = 0;
  double first_close_ms = -1;
  double last_close_ms = -1;  // from the moment the last half header was written
};

void RunStalled(uint16_t port, int timeout_ms, StalledResult* out) {
  std::string header = WireClient::EncodeFrame(WireClient::MakeFrame(3, 0x0301, 1, ""));
  header = header.substr(0, WireClient::kHeaderBytes / 2);
  std::vector<pollfd> fds;
  for (int i = 0; i < kStalled; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        send(fd, header.data(), header.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(header.size())) {
      ADD_FAILURE() << "stalled connection " << i << " could not be made: " << strerror(errno);
      if (fd >= 0) {
        close(fd);
      }
      continue;
    }
    fds.push_back({fd, POLLIN, 0});
  }
  out->connected = static_cast<int>(fds.size());
  Clock::time_point start = Clock::now();
  Clock::time_point deadline = start + std::chrono::milliseconds(timeout_ms);
  size_t open = fds.size();
  while (open > 0 && Clock::now() < deadline) {
    if (poll(fds.data(), fds.size(), 50) <= 0) {
      continue;
    }
    for (pollfd& p : fds) {
      if (p.fd < 0 || p.revents == 0) {
        continue;
      }
      char buf[256];
      ssize_t n = recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        continue;  // a heartbeat: not closed yet
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        continue;
      }
      double ms = Ms(Clock::now() - start);
      out->first_close_ms = out->first_close_ms < 0 ? ms : out->first_close_ms;
      out->last_close_ms = ms;
      ++out->closed;
      close(p.fd);
      p.fd = -1;  // poll() ignores negative descriptors
      --open;
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) {
      close(p.fd);
    }
  }
}

// (d) One connection that sends a header a byte at a time, each byte well within
// idle_timeout_ms of the last: only the frame timeout ends it. The ms until the daemon
// closed it, -1 if it did not within timeout_ms.
double RunTrickler(uint16_t port, int timeout_ms) {
  WireClient client;
  if (!client.Connect(port)) {
    ADD_FAILURE() << "trickler connect: " << client.last_error();
    return -1;
  }
  std::string header = WireClient::EncodeFrame(WireClient::MakeFrame(3, 0x0301, 1, "x"));
  Clock::time_point start = Clock::now();
  for (size_t i = 0; Ms(Clock::now() - start) < timeout_ms; ++i) {
    if (i < header.size() && !client.SendRaw(header.substr(i, 1), 1000)) {
      break;
    }
    if (client.IsClosed(static_cast<int>(kIdleTimeoutMs / 6))) {
      return Ms(Clock::now() - start);
    }
  }
  return client.IsClosed(0) ? Ms(Clock::now() - start) : -1;
}

// The value of an unlabelled counter on the metrics page; -1 if absent.
long MetricValue(uint16_t metrics_port, const std::string& name) {
  std::string page = HttpGet(metrics_port, "/metrics");
  size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stol(page.substr(at + name.size() + 2));
}

// The test process holds the 500 stalled sockets and dbproxyd (which inherits the limit)
// their other ends: raise the soft open-file limit to what that needs, as far as the hard
// limit allows.
bool EnsureFileLimit(rlim_t needed, std::string* why) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= needed) {
    return true;
  }
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    *why = "RLIMIT_NOFILE hard limit " + std::to_string(limit.rlim_max) + " is below the " +
           std::to_string(needed) + " descriptors this test needs";
    return false;
  }
  limit.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    *why = std::string("setrlimit(RLIMIT_NOFILE): ") + strerror(errno);
    return false;
  }
  return true;
}

TEST(AbuseUnderLoadTest, AbusivePeersCostOnlyThemselvesWhileTheLoadKeepsGoing) {
  std::string why;
  ASSERT_TRUE(EnsureFileLimit(kStalled + 256, &why)) << why;
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonOptions options;
  options.plugins = {"message", "unread", "session", "group_member"};
  options.workers = kWorkers;
  options.server_overrides = "max_frame_bytes: " + std::to_string(kMaxFrameBytes) +
                             "\nmax_output_buffer_bytes: " + std::to_string(kOutputLimit) +
                             "\nworker_queue_limit: " + std::to_string(kQueueLimit) +
                             "\nidle_timeout_ms: " + std::to_string(kIdleTimeoutMs) +
                             "\nframe_timeout_ms: " + std::to_string(kFrameTimeoutMs) + "\n";
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));
  const pid_t pid = daemon.pid();
  const long rss_idle = RssKb(pid);
  ASSERT_GT(rss_idle, 0);

  // The load alone.
  Ledger ledger;
  GoodLoad load(daemon.port(), &ledger);
  load.Start();
  std::this_thread::sleep_for(kWarmUp);
  long alone_begin = load.answered();
  Clock::time_point alone_start = Clock::now();
  std::this_thread::sleep_for(kAloneTime);
  long alone_count = load.answered() - alone_begin;
  double alone_rate = alone_count / (Ms(Clock::now() - alone_start) / 1000);
  const long alone_max_ms = load.max_latency_ms();
  const long rss_before = RssKb(pid);

  // All three abusers at once.
  const long during_begin = load.answered();
  const Clock::time_point abuse_start = Clock::now();
  NonReaderResult non_reader;
  std::thread non_reader_thread(RunNonReader, daemon.port(), &ledger, abuse_start, &non_reader);
  StalledResult stalled;
  std::thread stalled_thread(RunStalled, daemon.port(), static_cast<int>(kIdleTimeoutMs) + 8000,
                             &stalled);
  double trickler_ms = -1;
  std::thread trickler_thread(
      [&] { trickler_ms = RunTrickler(daemon.port(), static_cast<int>(kIdleTimeoutMs) * 3); });
  WireClient oversized;
  ASSERT_TRUE(oversized.Connect(daemon.port()));
  WireClient::Frame lie = WireClient::MakeFrame(3, 0x0301, 1, std::string(64, 'z'));
  lie.length = kOversizedLength;
  ASSERT_TRUE(oversized.SendRaw(WireClient::EncodeFrame(lie)));
  const bool oversized_closed = oversized.IsClosed(5000);
  const double oversized_ms = Ms(Clock::now() - abuse_start);

  // RSS while the abusers are there.
  long rss_peak = rss_before;
  std::atomic<bool> abusers_done{false};
  std::thread joiner([&] {
    non_reader_thread.join();
    stalled_thread.join();
    trickler_thread.join();
    abusers_done = true;
  });
  // Answers of the load per 250 ms of abuse, to show when it slowed down.
  std::string timeline;
  long bucket_begin = during_begin;
  Clock::time_point bucket_end = abuse_start + std::chrono::milliseconds(250);
  while (!abusers_done) {
    rss_peak = std::max(rss_peak, RssKb(pid));
    if (Clock::now() >= bucket_end) {
      long now_answered = load.answered();
      timeline += " " + std::to_string(now_answered - bucket_begin);
      bucket_begin = now_answered;
      bucket_end += std::chrono::milliseconds(250);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // sampling interval
  }
  joiner.join();
  // The abuse lasts until its last connection is cut off.
  const double abuse_ms = Ms(Clock::now() - abuse_start);
  const long during_count = load.answered() - during_begin;
  const double during_rate = during_count / (abuse_ms / 1000);
  load.Stop();
  rss_peak = std::max(rss_peak, RssKb(pid));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let freed buffers settle
  const long rss_after = RssKb(pid);

  // The daemon still answers, on a new connection.
  WireClient fresh;
  ASSERT_TRUE(fresh.Connect(daemon.port()));
  SendRecord last{false, 101, 201, "after the abuse", Outcome::kUnanswered, 0};
  std::optional<WireClient::Frame> answer =
      fresh.Call(3, 0x0301, SendBody(last.from, last.to, last.content, 0), 10000);
  IM::Message::IMMsgData r;
  ASSERT_TRUE(answer && r.ParseFromString(answer->body)) << "no answer after the abuse";
  EXPECT_NE(r.msg_id(), 0u) << "the send after the abuse was not stored";
  last.outcome = r.msg_id() == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
  last.msg_id = r.msg_id();
  ledger.RecordSend(last);

  const std::string log = daemon.ReadLog();
  const long bad_frames = MetricValue(daemon.metrics_port(), "dbproxy_bad_frames_total");
  const long frame_timeouts = MetricValue(daemon.metrics_port(), "dbproxy_frame_timeouts_total");
  const long capped = MetricValue(daemon.metrics_port(), "dbproxy_inflight_capped_total");
  const long output_closes = MetricValue(daemon.metrics_port(), "dbproxy_output_full_closes_total");
  // What the daemon may hold for the abusers: the non-reader's output up to the limit and
  // one join of answers past it, the worker queue full of its requests (each kept with its
  // body), a partial frame's worth of input for each abusive connection (at most one frame),
  // plus allocator and thread slack.
  const long frame_kb =
      static_cast<long>(WireClient::kHeaderBytes + kNonReaderContentBytes + 64) / 1024 + 1;
  const long bound_kb = rss_before + kOutputLimit / 1024 + 256 + kQueueLimit * frame_kb +
                        2 * (kMaxFrameBytes / 1024) + kStalled * 4 + 16 * 1024;
  std::printf(
      "[ abuse ] load alone %.0f sends/s (max %ld ms), during the %.1f s of abuse %.0f sends/s "
      "(%.0f%%, max latency overall %ld ms, %ld failed)\n",
      alone_rate, alone_max_ms, abuse_ms / 1000, during_rate,
      100 * during_rate / std::max(alone_rate, 1.0), load.max_latency_ms(), load.failed());
  std::printf(
      "[ abuse ] RSS KiB: idle %ld, before %ld, peak %ld, after %ld (bound %ld = before + output "
      "limit + queue of %u requests + partial frames + 16 MiB)\n",
      rss_idle, rss_before, rss_peak, rss_after, bound_kb, kQueueLimit);
  std::printf(
      "[ abuse ] non-reader: %d of %d sends written, cut off after %.0f ms%s, closed %s; "
      "oversized length closed after %.0f ms; %d/%d stalled half headers closed after "
      "%.0f..%.0f ms, a byte-a-time header after %.0f ms (frame_timeout_ms %u, idle_timeout_ms "
      "%u)\n",
      non_reader.sent, kNonReaderSends, non_reader.cut_ms,
      non_reader.timed_out ? " (write timed out)" : "", non_reader.closed ? "yes" : "no",
      oversized_ms, stalled.closed, stalled.connected, stalled.first_close_ms,
      stalled.last_close_ms, trickler_ms, kFrameTimeoutMs, kIdleTimeoutMs);

  long abusive_stored = 0;
  for (int shard = 0; shard < 8; ++shard) {
    abusive_stored +=
        std::stol(db->QueryValue("SELECT COUNT(*) FROM IMMessage_" + std::to_string(shard) +
                                 " WHERE fromId = " + std::to_string(kNonReaderFrom))
                      .value_or("0"));
  }
  std::printf(
      "[ abuse ] load answers per 250 ms of abuse:%s; non-reader sends stored: %ld, paused at "
      "its in-flight cap %ld times\n",
      timeline.c_str(), abusive_stored, capped);
  EXPECT_GE(during_rate, alone_rate / 2) << "the well-behaved load lost more than half";
  EXPECT_EQ(load.failed(), 0) << "well-behaved sends failed or were not answered";
  EXPECT_LE(rss_peak, bound_kb) << "dbproxyd RSS grew past its per-connection limits";

  EXPECT_TRUE(non_reader.closed) << "the non-reading client is still connected";
  EXPECT_LT(non_reader.sent, kNonReaderSends) << "the daemon took every request of a peer that "
                                                 "reads none of its answers";
  EXPECT_NE(
      log.find("peer=127.0.0.1:" + std::to_string(non_reader.local_port) + " output buffer over"),
      std::string::npos)
      << "no 'output buffer over' line for the non-reader";
  EXPECT_GE(capped, 1) << "the non-reader never reached max_inflight_per_connection";
  EXPECT_GE(output_closes, 1) << "dbproxy_output_full_closes_total did not count the non-reader";

  EXPECT_TRUE(oversized_closed) << "a frame claiming 4 GiB did not close its connection";
  EXPECT_NE(log.find("bad frame length " + std::to_string(kOversizedLength)), std::string::npos)
      << "no log line names the bad length";
  EXPECT_GE(bad_frames, 1) << "dbproxy_bad_frames_total did not count the oversized frame";

  EXPECT_EQ(stalled.connected, kStalled);
  EXPECT_EQ(stalled.closed, stalled.connected) << "stalled half headers left open";
  EXPECT_LE(stalled.last_close_ms, kFrameTimeoutMs + 2500.0)
      << "stalled half headers outlived frame_timeout_ms by more than two sweeps";
  EXPECT_GE(trickler_ms, 0) << "a header trickled a byte at a time was never closed";
  EXPECT_LE(trickler_ms, kFrameTimeoutMs + 2500.0)
      << "the trickled header outlived frame_timeout_ms";
  EXPECT_GE(frame_timeouts, stalled.connected + 1)
      << "dbproxy_frame_timeouts_total did not count the stalled and trickled headers";
  EXPECT_NE(log.find("frame incomplete for"), std::string::npos) << "no frame timeout log line";

  EXPECT_FALSE(daemon.WaitExit(0).has_value()) << "dbproxyd exited";
  cluster::CheckEventually(*db, *redis, ledger);
  EXPECT_EQ(daemon.Stop(), 0);
}

// dbproxyd started with an open-file limit far below server.max_connections raises it as
// far as the hard limit allows and says so, and names the shortfall if one remains.
TEST(AbuseUnderLoadTest, ShortOpenFileLimitIsRaisedOrNamedAtStartup) {
  constexpr uint32_t kConnections = 100000;
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= 256) {
    GTEST_SKIP() << "hard open-file limit " << saved.rlim_max << " leaves nothing to raise";
  }
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonOptions options;
  options.plugins = {"message"};
  options.workers = 2;
  options.server_overrides = "max_connections: " + std::to_string(kConnections) + "\n";
  DaemonProcess daemon;
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  bool started = daemon.Start(*db, *redis, options);  // the child inherits the low limit
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(started);
  const std::string log = daemon.ReadLog();
  EXPECT_NE(log.find("open file limit raised from 256 to "), std::string::npos) << log;
  bool short_of_hard = saved.rlim_max != RLIM_INFINITY && saved.rlim_max < kConnections;
  EXPECT_EQ(log.find("is below the") != std::string::npos, short_of_hard)
      << "a remaining shortfall must be named, and only then:\n"
      << log;
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
}  // namespace dbproxy::testing::fault
