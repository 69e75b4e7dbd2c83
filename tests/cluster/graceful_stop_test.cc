// Scenario 6 of issue 12: SIGTERM under send load. dbproxyd tells every connection to stop
// sending (0x0702, IMStopReceivePacket) and exits 0 once it has answered everything; the
// test's clients record, per connection, which requests they sent before the notice reached
// them, and every one of those must be answered (and, answered, stored: I1/I4).
//
// Two kinds of clients, both as msg_server behaves: pipelining ones keep kWindow requests
// in flight; slow ones pause between an answer and their next request, so a request may be
// on its way while the notice is on its way back (msg_server reads the notice only when its
// loop comes to that connection).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cluster/invariants.h"
#include "tests/cluster/send_load.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

constexpr int kPipelined = 4;
constexpr int kSlow = 2;
constexpr int kWindow = 16;
constexpr auto kSlowPause = std::chrono::milliseconds(100);
constexpr auto kLoadBeforeStop = std::chrono::milliseconds(1500);
constexpr int kShutdownDeadlineMs = 4000;
constexpr int kAfterNoticeMs = 10000;  // how long a client waits for its last answers

struct ConnectionReport {
  bool notice = false;
  long sent_before_notice = 0;
  long answered_after_notice = 0;
  std::vector<std::string> unanswered;  // contents of requests sent before the notice
};

struct InFlight {
  SendRecord send;
  Clock::time_point sent;
};

// One connection: sends until the 0x0702 notice arrives (never after it), then reads until
// every request it sent has its answer or the daemon closes the connection.
void Client(uint16_t port, int index, bool slow, Ledger* ledger, Timeline* timeline,
            ConnectionReport* report) {
  const std::string tag = std::string(slow ? "slow" : "pipe") + std::to_string(index);
  WireClient client;
  if (!client.Connect(port)) {
    ADD_FAILURE() << "connect: " << client.last_error();
    return;
  }
  std::map<uint16_t, InFlight> in_flight;
  uint16_t seq = 0;
  int n = 0;
  const size_t window = slow ? 1 : kWindow;
  Clock::time_point give_up = Clock::time_point::max();
  while (Clock::now() < give_up) {
    while (!report->notice && in_flight.size() < window) {
      seq = seq == 0xffff ? 1 : seq + 1;
      SendRecord send = NthSend(tag, n, index * 1000);
      if (!client.SendFrame(3, kMsgData, seq, EncodeSend(send, n))) {
        break;  // the daemon closed the connection: what is in flight stays unanswered
      }
      in_flight[seq] = {send, Clock::now()};
      ++report->sent_before_notice;
      ++n;
    }
    if (report->notice && in_flight.empty()) {
      break;
    }
    std::optional<WireClient::Frame> frame = client.ReadFrame(1000, true);
    if (!frame) {
      if (client.peer_closed()) {
        break;
      }
      continue;
    }
    if (frame->command_id == kStopReceive) {
      report->notice = true;
      give_up = Clock::now() + std::chrono::milliseconds(kAfterNoticeMs);
      continue;
    }
    auto it = in_flight.find(frame->seq);
    if (frame->command_id != kMsgData || it == in_flight.end()) {
      ADD_FAILURE() << tag << ": unexpected frame 0x" << std::hex << frame->command_id << " seq "
                    << std::dec << frame->seq;
      continue;
    }
    std::optional<uint32_t> id = AnsweredMsgId(frame->body);
    SendRecord send = it->second.send;
    send.outcome =
        !id ? Outcome::kUnanswered : (*id == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered);
    send.msg_id = id.value_or(0);
    ledger->RecordSend(send);
    timeline->Record({it->second.sent, Clock::now(), send.outcome, 0});
    in_flight.erase(it);
    report->answered_after_notice += report->notice ? 1 : 0;
    if (slow && !report->notice) {
      std::this_thread::sleep_for(kSlowPause);
    }
  }
  for (const auto& [s, f] : in_flight) {
    report->unanswered.push_back(f.send.content);
    ledger->RecordSend(f.send);  // kUnanswered: may or may not be stored
    timeline->Record({f.sent, Clock::now(), Outcome::kUnanswered, 0});
  }
}

TEST(GracefulStopTest, SigtermAnswersEveryRequestSentBeforeTheNotice) {
  std::unique_ptr<TestDatabase> db = TestDatabase::Create();
  std::unique_ptr<TestRedis> redis = TestRedis::Create();
  DaemonOptions options;
  options.plugins = {"message", "unread", "session", "group_member"};
  options.workers = 4;
  options.server_overrides = "shutdown_deadline_ms: " + std::to_string(kShutdownDeadlineMs) + "\n";
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(*db, *redis, options));

  Ledger ledger;
  Timeline timeline;
  std::vector<ConnectionReport> reports(kPipelined + kSlow);
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (int c = 0; c < kPipelined + kSlow; ++c) {
    threads.emplace_back(Client, daemon.port(), c, c >= kPipelined, &ledger, &timeline,
                         &reports[c]);
  }
  std::this_thread::sleep_for(kLoadBeforeStop);
  const Clock::time_point term = Clock::now();
  daemon.Signal(SIGTERM);
  std::optional<int> status = daemon.WaitExit(kShutdownDeadlineMs + 6000);
  const Clock::time_point exited = Clock::now();
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_TRUE(status.has_value()) << "dbproxyd still running 10 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  const long exit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(exited - term).count();
  EXPECT_LT(exit_ms, kShutdownDeadlineMs + 1000) << "exit took longer than the drain deadline";

  Timeline::Window before = timeline.Between(start, term);
  Timeline::Window around = timeline.Between(term - std::chrono::milliseconds(200), exited);
  long after_notice = 0;
  long sent = 0;
  for (int c = 0; c < kPipelined + kSlow; ++c) {
    const ConnectionReport& r = reports[c];
    EXPECT_TRUE(r.notice) << "connection " << c << " never got the 0x0702 notice";
    for (const std::string& content : r.unanswered) {
      ADD_FAILURE() << "connection " << c << ": '" << content
                    << "' was sent before the notice and never answered";
    }
    after_notice += r.answered_after_notice;
    sent += r.sent_before_notice;
  }
  std::printf("[ stop ] %s\n", Describe("before SIGTERM", before).c_str());
  std::printf("[ stop ] %s\n", Describe("sent from 0.2 s before SIGTERM to exit", around).c_str());
  std::printf(
      "[ stop ] %ld requests sent before the notice on %d connections, %ld answered after it; "
      "exit status %d %ld ms after SIGTERM\n",
      sent, kPipelined + kSlow, after_notice, *status, exit_ms);
  EXPECT_EQ(before.zero + before.unanswered, 0);
  EXPECT_EQ(around.zero, 0) << "sends failed (msg_id 0) while stopping";
  EXPECT_GT(before.answered, 10);

  CheckOptions checks;
  checks.unread = false;  // group read marks need a quiescent read, and the daemon is gone
  CheckEventually(*db, *redis, ledger, 3000, checks);
}

}  // namespace
}  // namespace dbproxy::testing::cluster
