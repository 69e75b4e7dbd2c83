#pragma once

// The data invariants of issue 12 ("nothing lost"), checked from MariaDB and Redis directly
// against a ledger of what the clients were answered. Shared by the cluster, outage, replica
// and Sentinel scenarios.
//
// What the ledger holds: every 0x0301 send a test made, with its conversation, its content
// (which must be unique per conversation: rows are matched to sends by it) and its outcome:
//   kAnswered      answered with msg_id > 0
//   kAnsweredZero  answered with msg_id = 0 (the daemon's "not stored")
//   kUnanswered    no answer (connection lost, daemon killed): may or may not be stored
// and every read the test made (0x0303), recorded only when no send of that conversation was
// in flight and every earlier send was answered (a quiescent read).
//
// Invariants (Check() returns one line per violation):
//   I1 every kAnswered send is stored exactly once, with its msgId, sender and content;
//   I2 no two rows share (relateId, msgId) / (groupId, msgId);
//   I3 per conversation the stored msgIds are exactly 1..N;
//   I4 no kAnsweredZero send is stored; a kUnanswered one at most once; and no row exists
//      that matches no send of the ledger;
//   I5 msg_id_<rid> / group_msg_id_<gid> (Redis "unread") >= the highest stored msgId;
//   I6 unread counters, with "not read" defined as follows:
//      single: unread_<r> field <s> (missing = 0) equals the number of stored messages s -> r
//        whose msgId is above r's read mark for s: the highest msgId the conversation had
//        when the test recorded r's last quiescent read of it (0 if never read);
//      group: for every member u (IMGroupMember status 0) max(0, <gid>_im_group_msg.count -
//        <u>_<gid>_im_user_group.count) equals the number of stored group messages whose
//        msgId is above R(u) = max(u's read mark, msgId of u's own latest message) -- a send
//        reads everything before it (TeamTalk: the sender's marker follows the count). This
//        is exact when u's latest send was not concurrent with other sends to the group;
//        tests that send concurrently end with a quiescent read by every sender.
//   Relations and sessions: no two IMRelationShip rows share (smallId, bigId); no two
//   IMRecentSession rows share (userId, peerId, type); every relation with a stored message
//   has both users' type-1 sessions of each other; every group sender has its type-2 session.
//
// Counters are applied after the answer (events), so callers poll: CheckEventually().
// REQUIRES: the database and Redis start from the demo state (no messages, relations or
// sessions; TestDatabase::Create(), TestRedis::Create()). Thread rule: Record*() may be called
// from any thread (a mutex); Check() from one thread at a time.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace dbproxy::testing {
class TestDatabase;
class TestRedis;
}  // namespace dbproxy::testing

namespace dbproxy::testing::cluster {

enum class Outcome { kAnswered, kAnsweredZero, kUnanswered };

struct SendRecord {
  bool group = false;
  uint32_t from = 0;
  uint32_t to = 0;  // peer user id, or group id
  std::string content;
  Outcome outcome = Outcome::kUnanswered;
  uint32_t msg_id = 0;  // the answered msg_id (kAnswered only)
};

class Ledger {
 public:
  void RecordSend(SendRecord send);
  // user read everything of the conversation (peer user, or group) up to read_mark, the
  // highest msgId the conversation had at the read. See the header comment: quiescent only.
  void RecordRead(uint32_t user, bool group, uint32_t peer_or_group, uint32_t read_mark);

  std::vector<SendRecord> sends() const;
  // (user, group, peer_or_group) -> read mark
  std::map<std::tuple<uint32_t, bool, uint32_t>, uint32_t> reads() const;
  size_t answered() const;

 private:
  mutable std::mutex mutex_;
  std::vector<SendRecord> sends_;
  std::map<std::tuple<uint32_t, bool, uint32_t>, uint32_t> reads_;
};

struct CheckOptions {
  bool unread = true;    // I6 (off while a test knows Redis lost data it has not repaired)
  bool sessions = true;  // the "relation without its session" check
};

// Every violation found now, one line each (empty: all invariants hold).
std::vector<std::string> Check(TestDatabase& db, TestRedis& redis, const Ledger& ledger,
                               const CheckOptions& options = {});

// Check() until it finds nothing or timeout_ms passes (counters and sessions are written
// after the answer); adds a test failure per violation left. Returns true if all hold.
bool CheckEventually(TestDatabase& db, TestRedis& redis, const Ledger& ledger,
                     int timeout_ms = 10000, const CheckOptions& options = {});

// The highest msgId stored in a conversation now (0 if none), for RecordRead().
uint32_t HighestMsgId(TestDatabase& db, bool group, uint32_t a, uint32_t b_or_0);

}  // namespace dbproxy::testing::cluster
