#pragma once

// Stores one message: in ONE transaction on teamtalk_master it locks the conversation (the
// pair's IMRelationShip row, created if missing; or the IMGroup row), takes the next msgId
// (message_id_allocator.h) and inserts the row; after COMMIT it raises the Redis counter.
// A message therefore gets an id only if its row is committed, and any failure rolls back
// everything and leaves no trace.
//
// Creating a relation is serialised across processes with the MySQL named lock
// "dbproxy.rel.<small>.<big>", since the original schema has no unique key on
// (smallId, bigId) (W9).
//
// Thread: any worker; const methods only. Holds one teamtalk_master connection during a
// call and calls no other module meanwhile.

#include <cstdint>
#include <string_view>

#include "dbproxy/sdk.h"
#include "plugins/message/message_id_allocator.h"

namespace dbproxy::plugins::message {

struct SingleMessage {
  uint32_t from_id = 0;
  uint32_t to_id = 0;
  uint32_t create_time = 0;
  uint32_t type = 0;         // MsgType 1 or 2
  std::string_view content;  // text, or the decimal audio id
};

struct GroupMessage {
  uint32_t group_id = 0;
  uint32_t from_id = 0;
  uint32_t create_time = 0;
  uint32_t type = 0;  // MsgType 0x11 or 0x12
  std::string_view content;
};

struct StoredMessage {
  uint32_t msg_id = 0;
  uint32_t relate_id = 0;  // single only
  uint32_t stored_at = 0;  // server time of the commit
};

class MessageWriter {
 public:
  // host must outlive the writer.
  explicit MessageWriter(const sdk::Host& host) : host_(host), ids_(host) {}

  // Returns: the committed message's id (and relation); otherwise the error, with nothing
  // stored: DBP_E_TIMEOUT if the relation's creation lock was not obtained in time, MySQL
  // and pool errors as the SDK reports them.
  // REQUIRES: from_id, to_id non-zero and different.
  sdk::Result<StoredMessage> StoreSingle(const SingleMessage& message) const;

  // As StoreSingle; DBP_E_NOT_FOUND if IMGroup has no row for the group.
  // REQUIRES: the sender's membership was checked.
  sdk::Result<StoredMessage> StoreGroup(const GroupMessage& message) const;

 private:
  sdk::Result<StoredMessage> StoreSingleOn(sdk::MysqlConn& conn,
                                           const SingleMessage& message) const;
  sdk::Result<StoredMessage> StoreGroupOn(sdk::MysqlConn& conn, const GroupMessage& message) const;

  const sdk::Host& host_;
  MessageIdAllocator ids_;
};

}  // namespace dbproxy::plugins::message
