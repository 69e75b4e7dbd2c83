#pragma once

// Messages answered "not stored" (msg_id 0) although their COMMIT may have taken effect.
//
// When MariaDB goes away during a COMMIT (a clean shutdown commits and then drops the
// connection before the OK), MessageWriter cannot learn the outcome until the server is
// back, so it answers msg_id 0: msg_server drops the message, the client sends it again. If
// the row was committed it would stay as a copy of that resend, stored under an id nobody
// was told (I4 of issue 12). So the writer remembers such messages here, and each one is
// settled under its conversation's lock once MySQL answers again:
//   stored and still the conversation's highest msgId  -> it is claimed (see below), its
//     row deleted and its id taken back from the Redis counter and the owed set (a counter
//     repair may have raised the counter to it meanwhile), so the next message takes the id
//     again and the ids stay 1..N without a gap; if Redis cannot be written the row stays
//     and is tried again later (and is kept if a message follows it first);
//   stored but a later message exists (another daemon numbered past it first)  -> kept,
//     logged as an error and counted (in_doubt_kept): removing it would leave a gap;
//   not stored  -> nothing to do.
// Settling happens in the next transaction that stores in the conversation (before it
// numbers anything, so no id is taken past an orphan by this daemon) and on a timer for
// conversations nobody writes to. Until then a reader may see the orphan.
//
// The messages are also kept in Redis (the hash kInDoubtKey of instance unread), so a
// reloaded message module, a restarted dbproxyd or another one sharing the storage settles
// them too: the first Settle of a module instance loads the hash (Load; Redis is for
// workers only, so not at Init) and SettleAll loads it on every tick, so a survivor also
// settles what a dead holder left. Two
// holders of one message settle it once: deleting a row first claims the message (HDEL from
// the hash, in the same script that takes the id back), and a holder whose claim finds the
// field gone forgets the message -- the row it sees may already be the resend. A message
// Redis could not record when it was added (in_doubt_unrecorded) is only in this process.
//
// Thread: any worker; Add, Settle and Forget take an internal mutex; SettleAll runs from one
// timer. At most kMaxRemembered messages are kept (an outage has at most one batch per
// pool connection in its COMMIT); more are logged and dropped.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

class InDoubtCommits {
 public:
  struct Message {
    bool group = false;
    uint32_t conversation = 0;  // relateId, or groupId
    uint32_t msg_id = 0;
    uint32_t from_id = 0;
    uint32_t create_time = 0;
    std::string content;
    bool recorded = false;  // in the Redis hash: a deletion must claim it first
  };
  using Conversation = std::pair<bool, uint32_t>;  // (group, relateId or groupId)

  static constexpr size_t kMaxRemembered = 10000;
  static constexpr const char* kInDoubtKey = "dbproxy_in_doubt";

  // host must outlive the object.
  explicit InDoubtCommits(const sdk::Host& host) : host_(host) {}

  // Remembers the messages here and in Redis (one HSET).
  void Add(std::vector<Message> messages);

  // Reads the messages recorded in Redis by any holder (one HGETALL) and remembers those not
  // remembered yet. Returns false if Redis could not be read (logged). Thread: a worker.
  bool Load();

  // Within a transaction on conn that holds the locks of these conversations: settles every
  // remembered message of them (see above) and appends those settled to *settled -- for
  // Forget() once the transaction committed, for Unsettle() if it did not. Returns the
  // error of a failed statement (roll back; *settled still lists what was settled before).
  sdk::Status Settle(sdk::MysqlConn& conn, const std::vector<Conversation>& conversations,
                     std::vector<Message>* settled);
  // Drops the settled messages here and from Redis (one HDEL).
  void Forget(const std::vector<Message>& settled);
  // The transaction of Settle() rolled back, or its COMMIT's outcome is unknown: the ids it
  // took back are owed again (MessageIdCounters::Owe), so a counter repair raises each
  // counter back to whatever MySQL holds, and the recorded ones go back into the Redis hash.
  // The messages stay remembered.
  void Unsettle(const std::vector<Message>& settled) const;

  // Settles every remembered message, one transaction per conversation that locks its
  // IMRelationShip / IMGroup row first. Does nothing when none is remembered.
  void SettleAll();

 private:
  enum class Claim { kClaimed, kSettledElsewhere, kFailed };

  std::vector<Message> Of(const Conversation& conversation) const;
  // Claims m for deletion and takes its id back, in one EVAL (see the header comment).
  Claim ClaimForDeletion(const Message& m) const;
  void Record(const std::vector<Message>& messages) const;
  void EraseHere(const Message& m);
  // HDELs fields and those of earlier failed calls; keeps them for the next call on failure.
  void Unrecord(std::vector<std::string> fields);

  const sdk::Host& host_;
  mutable std::mutex mutex_;
  std::vector<Message> messages_;        // GUARDED_BY(mutex_)
  std::vector<std::string> unrecorded_;  // GUARDED_BY(mutex_): settled, HDEL failed
  std::atomic<bool> loaded_{false};      // Load() has read the Redis hash once
};

}  // namespace dbproxy::plugins::message
