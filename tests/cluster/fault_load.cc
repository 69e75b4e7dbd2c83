#include "tests/cluster/fault_load.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::cluster {
namespace {

long Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// What a thread knows about one of its pairs: only it writes them.
struct PairState {
  uint32_t a = 0;
  uint32_t b = 0;
  long stored_to_a = 0;  // answered sends b -> a
  long stored_to_b = 0;
  bool unsure = false;  // a send got no answer: it may or may not be stored
};

IM::Message::IMMsgData MakeSend(const SendRecord& send, uint32_t n) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(send.from);
  m.set_to_session_id(send.to);
  m.set_msg_id(0);
  m.set_create_time(1700000000u + n);
  m.set_msg_type(send.group ? IM::BaseDefine::MSG_TYPE_GROUP_TEXT
                            : IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  m.set_msg_data(send.content);
  return m;
}

// Sends `send` and fills its outcome, msg_id and times; true if answered.
bool Send(WireClient& client, SendRecord* send, uint32_t n, int timeout_ms) {
  send->sent = Clock::now();
  std::optional<WireClient::Frame> answer =
      client.Call(3, 0x0301, MakeSend(*send, n).SerializeAsString(), timeout_ms);
  send->finished = Clock::now();
  IM::Message::IMMsgData r;
  if (!answer || !r.ParseFromString(answer->body)) {
    send->outcome = Outcome::kUnanswered;
    return false;
  }
  send->outcome = r.msg_id() == 0 ? Outcome::kAnsweredZero : Outcome::kAnswered;
  send->msg_id = r.msg_id();
  return true;
}

}  // namespace

std::string WindowStats::Describe() const {
  char text[200];
  std::snprintf(
      text, sizeof text,
      "%ld ops (%.0f/s), %ld sends stored (%.1f/s), %ld failed, %ld unanswered, max %ld ms", ops,
      seconds > 0 ? ops / seconds : 0.0, sends_stored, stored_per_second(), failed, unanswered,
      max_ms);
  return text;
}

void FaultLoad::Start() {
  started_ = Clock::now();
  for (int t = 0; t < options_.threads; ++t) {
    threads_.emplace_back(&FaultLoad::Run, this, t);
  }
}

void FaultLoad::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

void FaultLoad::Record(const Op& op) {
  std::lock_guard<std::mutex> lock(mutex_);
  ops_.push_back(op);
}

void FaultLoad::Problem(std::string text) {
  std::lock_guard<std::mutex> lock(mutex_);
  problems_.push_back(std::move(text));
}

void FaultLoad::Run(int thread) {
  WireClient client;
  if (!client.Connect(options_.port)) {
    Problem("thread " + std::to_string(thread) + ": connect: " + client.last_error());
    return;
  }
  std::vector<PairState> pairs(options_.pairs_per_thread);
  for (int p = 0; p < options_.pairs_per_thread; ++p) {
    uint32_t index = static_cast<uint32_t>(thread * options_.pairs_per_thread + p);
    pairs[p].a = options_.first_user + index;
    pairs[p].b = options_.first_user + 100 + index;
  }
  for (uint32_t n = 0; !stop_; ++n) {
    PairState& pair = pairs[n / 10 % pairs.size()];
    const bool to_b = n / 10 / pairs.size() % 2 == 0;
    const uint32_t kind = n % 10;
    Op op;
    if (kind < 6 || kind == 7) {
      SendRecord send;
      if (kind == 7) {
        op.kind = OpKind::kGroupSend;
        send.group = true;
        send.to = options_.group;
        send.from = 1 + (n / 10 + static_cast<uint32_t>(thread)) % options_.group_members;
      } else {
        op.kind = OpKind::kPairSend;
        send.from = to_b ? pair.a : pair.b;
        send.to = to_b ? pair.b : pair.a;
      }
      send.content = "t" + std::to_string(thread) + " n" + std::to_string(n);
      op.answered = Send(client, &send, n, options_.call_timeout_ms);
      op.started = send.sent;
      op.finished = send.finished;
      op.succeeded = send.outcome == Outcome::kAnswered;
      if (!send.group && send.outcome == Outcome::kAnswered) {
        ++(to_b ? pair.stored_to_b : pair.stored_to_a);
      }
      if (!send.group && send.outcome == Outcome::kUnanswered) {
        pair.unsure = true;
      }
      ledger_->RecordSend(send);
    } else if (kind == 6) {
      // Unread of the pair's receiving side.
      op.kind = OpKind::kUnreadCount;
      const uint32_t user = to_b ? pair.b : pair.a;
      const uint32_t peer = to_b ? pair.a : pair.b;
      const long expected = to_b ? pair.stored_to_b : pair.stored_to_a;
      IM::Message::IMUnreadMsgCntReq req;
      req.set_user_id(user);
      op.started = Clock::now();
      std::optional<WireClient::Frame> answer =
          client.Call(3, 0x0307, req.SerializeAsString(), options_.call_timeout_ms);
      op.finished = Clock::now();
      IM::Message::IMUnreadMsgCntRsp rsp;
      op.answered = answer && rsp.ParseFromString(answer->body);
      if (op.answered) {
        long listed = -1;
        for (const auto& u : rsp.unreadinfo_list()) {
          if (u.session_id() == peer) {
            listed = u.unread_cnt();
          }
        }
        const bool failure_value = rsp.total_cnt() == 0 && rsp.unreadinfo_list_size() == 0;
        const bool exact = static_cast<long>(rsp.total_cnt()) == expected &&
                           (expected == 0 ? listed == -1 : listed == expected);
        // With exact counts, an empty answer is right when nothing is there to count;
        // without, any non-empty answer is.
        op.succeeded =
            options_.exact_unread ? exact || (failure_value && expected == 0) : !failure_value;
        if (options_.exact_unread && !pair.unsure && !exact && !failure_value) {
          Problem("0x0307 user " + std::to_string(user) + ": total " +
                  std::to_string(rsp.total_cnt()) + ", peer " + std::to_string(peer) + " " +
                  std::to_string(listed) + ", want " + std::to_string(expected) +
                  " (or the failure value)");
        }
      }
    } else {
      op.kind = OpKind::kSessionList;
      const uint32_t user = to_b ? pair.a : pair.b;
      const uint32_t peer = to_b ? pair.b : pair.a;
      IM::Buddy::IMRecentContactSessionReq req;
      req.set_user_id(user);
      req.set_latest_update_time(0);
      op.started = Clock::now();
      std::optional<WireClient::Frame> answer =
          client.Call(2, 0x0201, req.SerializeAsString(), options_.call_timeout_ms);
      op.finished = Clock::now();
      IM::Buddy::IMRecentContactSessionRsp rsp;
      op.answered = answer && rsp.ParseFromString(answer->body);
      if (op.answered) {
        bool listed = false;
        for (const auto& s : rsp.contact_session_list()) {
          listed |= s.session_id() == peer && s.latest_msg_id() != 0;
        }
        const bool something_stored = pair.stored_to_a + pair.stored_to_b > 0;
        op.succeeded = listed || (!something_stored && !pair.unsure);
        if (!listed && rsp.contact_session_list_size() != 0 && something_stored) {
          Problem("0x0201 user " + std::to_string(user) + ": " +
                  std::to_string(rsp.contact_session_list_size()) + " sessions without its peer " +
                  std::to_string(peer) + ", which has stored messages");
        }
      }
    }
    Record(op);
    if (!op.answered && (client.peer_closed() || !client.connected())) {
      if (!client.Connect(options_.port)) {
        Problem("thread " + std::to_string(thread) + ": reconnect: " + client.last_error());
        return;
      }
    }
  }
}

std::vector<Op> FaultLoad::ops() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ops_;
}

std::vector<std::string> FaultLoad::problems() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return problems_;
}

WindowStats FaultLoad::Window(Clock::time_point from, Clock::time_point to, bool by_finish) const {
  WindowStats w;
  w.seconds = std::chrono::duration<double>(to - from).count();
  for (const Op& op : ops()) {
    const Clock::time_point at = by_finish ? op.finished : op.started;
    if (at < from || at >= to) {
      continue;
    }
    ++w.ops;
    w.max_ms = std::max(w.max_ms, Ms(op.finished - op.started));
    if (!op.answered) {
      ++w.unanswered;
    }
    if (!op.succeeded) {
      ++w.failed;
    } else if (op.kind == OpKind::kPairSend || op.kind == OpKind::kGroupSend) {
      ++w.sends_stored;
    }
  }
  return w;
}

long FaultLoad::MaxLatencyOverlapping(Clock::time_point from, Clock::time_point to) const {
  long max_ms = 0;
  for (const Op& op : ops()) {
    if (op.finished >= from && op.started < to) {
      max_ms = std::max(max_ms, Ms(op.finished - op.started));
    }
  }
  return max_ms;
}

std::optional<Clock::time_point> FaultLoad::FirstSuccess(OpKind kind,
                                                         Clock::time_point from) const {
  std::optional<Clock::time_point> first;
  for (const Op& op : ops()) {
    if (op.kind == kind && op.succeeded && op.started >= from && (!first || op.finished < *first)) {
      first = op.finished;
    }
  }
  return first;
}

long FaultLoad::FailuresBetween(Clock::time_point from, Clock::time_point to) const {
  long n = 0;
  for (const Op& op : ops()) {
    n += op.started >= from && op.started < to && !op.succeeded;
  }
  return n;
}

void ReadGroupAsEveryMember(uint16_t port, TestDatabase& db, TestRedis& redis, Ledger* ledger,
                            uint32_t group, uint32_t members) {
  WireClient reader;
  ASSERT_TRUE(reader.Connect(port)) << reader.last_error();
  uint32_t mark = HighestMsgId(db, true, group, 0);
  for (uint32_t u = 1; u <= members; ++u) {
    IM::Message::IMMsgDataReadAck ack;
    ack.set_user_id(u);
    ack.set_session_id(group);
    ack.set_msg_id(mark);
    ack.set_session_type(IM::BaseDefine::SESSION_TYPE_GROUP);
    ASSERT_TRUE(
        reader.SendFrame(3, 0x0303, static_cast<uint16_t>(900 + u), ack.SerializeAsString()));
    ledger->RecordRead(u, true, group, mark);
  }
  // The acks have no answer: wait until every marker reached the group count, so that a
  // later send cannot be overtaken by an ack still on its way.
  const int udb = redis.db("unread");
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  for (uint32_t u = 1; u <= members; ++u) {
    for (;;) {
      RedisReply count =
          redis.Command(udb, "HGET", std::to_string(group) + "_im_group_msg", "count");
      RedisReply marker = redis.Command(
          udb, "HGET", std::to_string(u) + "_" + std::to_string(group) + "_im_user_group", "count");
      if (count.str == marker.str || Clock::now() > deadline) {
        EXPECT_EQ(count.str, marker.str) << "member " << u << " read ack not applied in 10 s";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
    }
  }
}

uint32_t SendGroupMessage(uint16_t port, Ledger* ledger, uint32_t group, uint32_t from,
                          const std::string& content) {
  WireClient client;
  if (!client.Connect(port)) {
    ADD_FAILURE() << "connect: " << client.last_error();
    return 0;
  }
  SendRecord send;
  send.group = true;
  send.from = from;
  send.to = group;
  send.content = content;
  Send(client, &send, 0, 10000);
  ledger->RecordSend(send);
  return send.msg_id;
}

}  // namespace dbproxy::testing::cluster
