#include "plugins/message/message_writer.h"

#include <algorithm>
#include <ctime>
#include <string>
#include <utility>

#include "plugins/common/key_format.h"
#include "plugins/message/message_store.h"

namespace dbproxy::plugins::message {
namespace {

using sdk::MysqlConn;
using sdk::Result;
using sdk::Status;

// How long a first message waits for another process that is creating the same relation.
constexpr uint32_t kCreationLockWaitSeconds = 5;

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

std::string RelationLockName(uint32_t small_id, uint32_t big_id) {
  return sdk::StrCat("dbproxy.rel.", small_id, ".", big_id);
}

// A MySQL named lock held for one scope. Declared before the sdk::Transaction it protects,
// so it is released after that transaction's COMMIT or ROLLBACK: another process may look
// for the relation only once our insert is visible. Not copyable; one thread.
class NamedLock {
 public:
  explicit NamedLock(MysqlConn& conn) : conn_(conn) {}
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;
  ~NamedLock() {
    if (held_) {
      // A failure means the session is gone, and with it the lock.
      (void)store::ReleaseNamedLock(conn_, name_);
    }
  }

  // Returns: OK once held; DBP_E_TIMEOUT if another session kept it for timeout_s.
  Status Acquire(std::string name, uint32_t timeout_s) {
    Result<bool> got = store::GetNamedLock(conn_, name, timeout_s);
    if (!got.ok()) {
      return got.status();
    }
    if (!*got) {
      return Status(DBP_E_TIMEOUT, sdk::StrCat("named lock ", name, " busy for ", timeout_s, " s"));
    }
    name_ = std::move(name);
    held_ = true;
    return Status();
  }

 private:
  MysqlConn& conn_;
  std::string name_;
  bool held_ = false;
};

}  // namespace

Result<StoredMessage> MessageWriter::StoreSingle(const SingleMessage& message) const {
  Result<MysqlConn> conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  Result<StoredMessage> stored = StoreSingleOn(*conn, message);
  conn->Release();
  if (stored.ok()) {
    ids_.RaiseSingleCounter(stored->relate_id, stored->msg_id);
  }
  return stored;
}

Result<StoredMessage> MessageWriter::StoreSingleOn(MysqlConn& conn,
                                                   const SingleMessage& message) const {
  const uint32_t small_id = std::min(message.from_id, message.to_id);
  const uint32_t big_id = std::max(message.from_id, message.to_id);
  const uint32_t now = Now();

  Status status = store::UseReadCommittedForNextTransaction(conn);
  if (!status.ok()) {
    return status;
  }
  NamedLock creation_lock(conn);  // outlives the transaction, see NamedLock
  sdk::Transaction transaction(conn);
  if (!transaction.begun().ok()) {
    return transaction.begun();
  }

  Result<std::optional<store::RelationRow>> relation = store::LockRelation(conn, small_id, big_id);
  if (!relation.ok()) {
    return relation.status();
  }
  if (!*relation) {
    // Nothing to lock yet. Take the pair's creation lock, then look again: another process
    // may have created the relation while we waited.
    status = creation_lock.Acquire(RelationLockName(small_id, big_id), kCreationLockWaitSeconds);
    if (!status.ok()) {
      return status;
    }
    relation = store::LockRelation(conn, small_id, big_id);
    if (!relation.ok()) {
      return relation.status();
    }
  }

  uint32_t relate_id = 0;
  if (*relation) {
    relate_id = (*relation)->id;
    if ((*relation)->status != 0) {
      status = store::ReviveRelation(conn, relate_id, now);
      if (!status.ok()) {
        return status;
      }
    }
  } else {
    Result<uint32_t> inserted = store::InsertRelation(conn, small_id, big_id, now);
    if (!inserted.ok()) {
      return inserted.status();
    }
    relate_id = *inserted;
  }

  Result<uint32_t> msg_id = ids_.NextSingleId(conn, relate_id);
  if (!msg_id.ok()) {
    return msg_id.status();
  }
  store::SingleMessageRow row;
  row.relate_id = relate_id;
  row.from_id = message.from_id;
  row.to_id = message.to_id;
  row.msg_id = *msg_id;
  row.content = message.content;
  row.type = message.type;
  row.create_time = message.create_time;
  status = store::InsertMessage(conn, row);
  if (!status.ok()) {
    return status;
  }
  status = transaction.Commit();
  if (!status.ok()) {
    return status;
  }
  return StoredMessage{*msg_id, relate_id, Now()};
}

Result<StoredMessage> MessageWriter::StoreGroup(const GroupMessage& message) const {
  Result<MysqlConn> conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  Result<StoredMessage> stored = StoreGroupOn(*conn, message);
  conn->Release();
  if (stored.ok()) {
    ids_.RaiseGroupCounter(message.group_id, stored->msg_id);
  }
  return stored;
}

Result<StoredMessage> MessageWriter::StoreGroupOn(MysqlConn& conn,
                                                  const GroupMessage& message) const {
  Status status = store::UseReadCommittedForNextTransaction(conn);
  if (!status.ok()) {
    return status;
  }
  sdk::Transaction transaction(conn);
  if (!transaction.begun().ok()) {
    return transaction.begun();
  }
  Result<bool> exists = store::LockGroup(conn, message.group_id);
  if (!exists.ok()) {
    return exists.status();
  }
  if (!*exists) {
    return Status(DBP_E_NOT_FOUND, sdk::StrCat("group ", message.group_id, " has no IMGroup row"));
  }
  Result<uint32_t> msg_id = ids_.NextGroupId(conn, message.group_id);
  if (!msg_id.ok()) {
    return msg_id.status();
  }
  store::GroupMessageRow row;
  row.group_id = message.group_id;
  row.user_id = message.from_id;
  row.msg_id = *msg_id;
  row.content = message.content;
  row.type = message.type;
  row.create_time = message.create_time;
  status = store::InsertGroupMessage(conn, row);
  if (!status.ok()) {
    return status;
  }
  status = store::TouchGroup(conn, message.group_id, Now());
  if (!status.ok()) {
    return status;
  }
  status = transaction.Commit();
  if (!status.ok()) {
    return status;
  }
  return StoredMessage{*msg_id, 0, Now()};
}

}  // namespace dbproxy::plugins::message
