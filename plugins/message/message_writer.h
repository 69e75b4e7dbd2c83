#pragma once

// Stores a batch of messages (single and group, any conversations) in ONE transaction on
// teamtalk_master -- group commit: one COMMIT, one log flush, a few round trips for the
// whole batch. In that transaction it locks every conversation (the pairs' IMRelationShip
// rows, created if missing; the IMGroup rows), takes the next msgIds
// (message_id_allocator.h; the messages of one conversation get consecutive ids in batch
// order) and inserts the rows; after COMMIT it raises the Redis counters and refreshes the
// copies of the conversations' latest messages (plugins/common/latest_cache.h).
//
// Guarantees, per message: it gets an id only if its row is committed, and a failure leaves
// no trace of it. A failure that concerns one message (its group has no row, its relation's
// creation lock is busy, its conversation ran out of ids) fails that message alone. A
// statement error fails the transaction; the batch's messages are then retried one per
// transaction, so one bad message cannot sink the others. If the COMMIT's answer is lost,
// a fresh connection looks for the batch's first row to learn the outcome; when even that
// fails the messages are reported as failed and the uncertainty is logged (counted as
// send_commit_unknown).
//
// Creating a relation is serialised across processes with the MySQL named lock
// "dbproxy.rel.<small>.<big>", since the original schema has no unique key on
// (smallId, bigId) (W9).
//
// Thread: any worker; const methods only. Holds one teamtalk_master connection during a
// call and calls no other module meanwhile.

#include <cstdint>
#include <span>
#include <string_view>

#include "dbproxy/sdk.h"
#include "plugins/message/message_id_allocator.h"

namespace dbproxy::plugins::message {

struct StoredMessage {
  uint32_t msg_id = 0;
  uint32_t relate_id = 0;  // single only
  uint32_t stored_at = 0;  // server time of the commit
};

// One message of a batch: the input, then the outcome.
struct WriteItem {
  bool group = false;
  uint32_t from_id = 0;
  uint32_t to_id = 0;  // the peer (single, != from_id) or the group
  uint32_t create_time = 0;
  uint32_t type = 0;         // MsgType
  std::string_view content;  // text, or the decimal audio id

  // Set by Store: OK and stored, or why the message was not stored.
  sdk::Status status;
  StoredMessage stored;
  bool settled = false;  // status is final (Store's bookkeeping)
};

class MessageWriter {
 public:
  // host must outlive the writer.
  explicit MessageWriter(const sdk::Host& host) : host_(host), counters_(host) {}

  // Stores the items; sets each item's status (and stored). Errors: DBP_E_NOT_FOUND for a
  // group without an IMGroup row, DBP_E_TIMEOUT if a relation's creation lock was not
  // obtained in time, DBP_E_INVALID if the conversation's ids ran out, MySQL and pool
  // errors as the SDK reports them.
  // REQUIRES: from_id and to_id non-zero; for single items from_id != to_id; group senders'
  // membership checked.
  void Store(std::span<WriteItem> items) const;

 private:
  enum class Outcome {
    kCommitted,      // the transaction committed (items not failed alone are stored)
    kRolledBack,     // nothing committed; the returned status says why
    kCommitUnknown,  // COMMIT was sent but its answer was lost
  };
  Outcome StoreOn(sdk::MysqlConn& conn, std::span<WriteItem> items, sdk::Status* error) const;
  // After kCommitUnknown: looks for the first live item's row on a fresh connection.
  void ResolveUnknownCommit(std::span<WriteItem> items, const sdk::Status& error) const;
  // After COMMIT: raises the conversations' msgId counters, then refreshes the copies of
  // their latest messages (plugins/common/latest_cache.h), in that order.
  void RaiseCounters(std::span<WriteItem> items) const;
  void CacheLatest(std::span<WriteItem> items) const;

  const sdk::Host& host_;
  MessageIdCounters counters_;
};

}  // namespace dbproxy::plugins::message
