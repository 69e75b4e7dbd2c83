#pragma once

// Stores a batch of messages (single and group, any conversations) in ONE transaction on
// teamtalk_master -- group commit: one COMMIT, one log flush, a few round trips for the
// whole batch. In that transaction it locks every conversation (the pairs' IMRelationShip
// rows, created if missing; the IMGroup rows), takes the next msgIds
// (message_id_allocator.h; the messages of one conversation get consecutive ids in batch
// order: the Redis counter where it is known good (known_counters.h), else the larger of it
// and a MAX probe of the stored ids), inserts the rows and raises the Redis counters; after
// COMMIT it refreshes the copies of the conversations' latest messages
// (plugins/common/latest_cache.h). If the raise fails, the same transaction bumps the
// msgId epoch (message_batch_store.h), so no process trusts those counters any more.
//
// Per batch, on teamtalk_master: SET TRANSACTION, START TRANSACTION, one locking SELECT per
// 64 relations and per 64 groups, one epoch SELECT, one MAX probe per 64 conversations not
// known good, the INSERTs (per shard, power-of-two chunks), COMMIT; on Redis: one EVAL
// reading the counters, one raising them, one refreshing the latest-message copies.
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
#include "plugins/message/known_counters.h"
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
  // host and known must outlive the writer; known may be null (every counter is probed).
  MessageWriter(const sdk::Host& host, KnownCounters* known)
      : host_(host), counters_(host), known_(known) {}

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
  // After COMMIT: refreshes the copies of the latest messages (plugins/common/latest_cache.h).
  void CacheLatest(std::span<WriteItem> items) const;

  const sdk::Host& host_;
  MessageIdCounters counters_;
  KnownCounters* known_;
};

}  // namespace dbproxy::plugins::message
