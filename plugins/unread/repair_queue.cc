#include "plugins/unread/repair_queue.h"

#include <chrono>
#include <ctime>
#include <string>

#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::unread {
namespace {

// Rows read and replayed per statement; a fixed size keeps one prepared statement shape.
constexpr uint32_t kChunkRows = 256;
// Most rows per INSERT: a batch is split into power-of-two chunks up to this size, so only a
// handful of statement shapes are ever prepared.
constexpr size_t kMaxInsertRows = 64;

// MySQL's "table doesn't exist".
constexpr unsigned kErNoSuchTable = 1146;

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS dbproxy_unread_repair ("
    " id bigint(20) unsigned NOT NULL AUTO_INCREMENT,"
    " sessionType tinyint(3) unsigned NOT NULL,"
    " fromId int(11) unsigned NOT NULL,"
    " toId int(11) unsigned NOT NULL,"
    " msgId int(11) unsigned NOT NULL,"
    " created int(11) unsigned NOT NULL DEFAULT 0,"
    " PRIMARY KEY (id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string InsertSql(size_t rows) {
  std::string sql =
      "INSERT INTO dbproxy_unread_repair (sessionType, fromId, toId, msgId, created) VALUES ";
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)";
  }
  return sql;
}

}  // namespace

sdk::Status RepairQueue::EnsureTable(sdk::MysqlConn& conn) {
  if (table_ready_.load(std::memory_order_acquire)) {
    return sdk::Status();
  }
  auto created = conn.Execute(kCreateTable);
  if (!created.ok()) {
    return created.status();
  }
  table_ready_.store(true, std::memory_order_release);
  return sdk::Status();
}

sdk::Status RepairQueue::Enqueue(const std::vector<UnreadCounters::Increment>& increments) {
  if (increments.empty()) {
    return sdk::Status();
  }
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  sdk::Status s = EnsureTable(*conn);
  if (!s.ok()) {
    return s;
  }
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  sdk::Transaction tx(*conn);
  if (!tx.begun().ok()) {
    return tx.begun();
  }
  size_t at = 0;
  while (at < increments.size()) {
    size_t rows = kMaxInsertRows;
    while (rows > increments.size() - at) {
      rows >>= 1;
    }
    std::vector<sdk::Param> params;
    params.reserve(rows * 5);
    for (size_t i = at; i < at + rows; ++i) {
      const UnreadCounters::Increment& inc = increments[i];
      params.emplace_back(inc.session_type);
      params.emplace_back(inc.from);
      params.emplace_back(inc.to);
      params.emplace_back(inc.msg_id);
      params.emplace_back(now);
    }
    auto inserted = conn->ExecuteSpan(InsertSql(rows), params.data(), params.size());
    if (!inserted.ok()) {
      return inserted.status();
    }
    at += rows;
  }
  s = tx.Commit();
  if (s.ok()) {
    pending_.store(true, std::memory_order_release);
  }
  return s;
}

void RepairQueue::Replay() {
  const uint64_t now = NowMs();
  if (!pending_.load(std::memory_order_acquire) &&
      now - last_look_ms_.load(std::memory_order_relaxed) < idle_look_ms_) {
    return;
  }
  last_look_ms_.store(now, std::memory_order_relaxed);
  // Cleared before reading, so a row enqueued while this runs sets it again.
  pending_.store(false, std::memory_order_release);
  uint32_t done = 0;
  while (done < kMaxRowsPerReplay) {
    int rows = ReplayChunk(kChunkRows);
    if (rows < 0) {
      pending_.store(true, std::memory_order_release);  // try again next time
      return;
    }
    done += static_cast<uint32_t>(rows);
    if (static_cast<uint32_t>(rows) < kChunkRows) {
      return;  // the queue is empty (up to rows enqueued meanwhile, flagged by pending_)
    }
  }
  pending_.store(true, std::memory_order_release);  // more left: go on at the next tick
}

int RepairQueue::ReplayChunk(uint32_t limit) {
  auto conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    host_.Debug("unread repair deferred: ", conn.status().message());
    host_.Count("unread_repair_deferred");
    return -1;
  }
  auto rows = conn->Execute(
      "SELECT id, sessionType, fromId, toId, msgId FROM dbproxy_unread_repair ORDER BY id "
      "LIMIT ?",
      {limit});
  if (!rows.ok()) {
    if (conn->ErrorNumber() == kErNoSuchTable) {
      return 0;  // nothing was ever queued on this database
    }
    host_.Warn("unread repair queue not readable: ", rows.status().message());
    host_.Count("unread_repair_deferred");
    return -1;
  }
  const size_t n = rows->rows();
  if (n == 0) {
    return 0;
  }
  std::vector<uint64_t> ids;
  std::vector<UnreadCounters::Increment> increments;
  ids.reserve(n);
  increments.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    ids.push_back(rows->Uint(r, 0));
    increments.push_back(
        {static_cast<uint32_t>(rows->Uint(r, 1)), static_cast<uint32_t>(rows->Uint(r, 2)),
         static_cast<uint32_t>(rows->Uint(r, 3)), static_cast<uint32_t>(rows->Uint(r, 4))});
  }
  conn->Release();  // no connection held across the Redis round trip

  std::vector<sdk::Status> results;
  std::vector<size_t> replayable;  // indexes of rows with a known session type
  std::vector<UnreadCounters::Increment> sent;
  for (size_t i = 0; i < n; ++i) {
    if (increments[i].session_type == 1 || increments[i].session_type == 2) {
      replayable.push_back(i);
      sent.push_back(increments[i]);
    } else {
      host_.Warn("unread repair row ", ids[i], " has session type ", increments[i].session_type,
                 "; dropped");
      host_.Count("unread_repair_errors");
    }
  }
  bool round_trip_failed = false;
  host_.Debug("unread repair: replaying ", sent.size(), " rows");
  results = counters_.AddOnce(sent, &round_trip_failed);
  if (round_trip_failed) {
    host_.Debug("unread repair deferred, Redis: ", results.front().message());
    host_.Count("unread_repair_deferred");
    return -1;  // Redis still down: keep every row
  }
  uint64_t repaired = 0;
  for (size_t k = 0; k < results.size(); ++k) {
    if (results[k].ok()) {
      ++repaired;
      continue;
    }
    const UnreadCounters::Increment& inc = sent[k];
    host_.Warn("unread repair of type=", inc.session_type, " from=", inc.from, " to=", inc.to,
               " msg_id=", inc.msg_id, " failed: ", results[k].message(), "; dropped");
    host_.Count("unread_repair_errors");
  }
  host_.Count("unread_repairs", static_cast<int64_t>(repaired));

  // Every row read is settled now (replayed, counted before, or dropped): delete them.
  auto del_conn = host_.Mysql(keys::kMasterPool);
  if (!del_conn.ok()) {
    host_.Count("unread_repair_deferred");
    return -1;  // replayed again later, and counted once thanks to the markers
  }
  host_.Debug("unread repair: ", repaired, " counted; deleting ", ids.size(), " rows");
  const size_t padded = sql::PaddedSize(ids.size());
  std::vector<sdk::Param> params;
  params.reserve(padded);
  for (size_t i = 0; i < padded; ++i) {
    params.emplace_back(static_cast<unsigned long long>(ids[i < ids.size() ? i : ids.size() - 1]));
  }
  // An explicit transaction: a pooled connection may come back from an earlier Begin()
  // with autocommit off, and a bare DELETE there would be rolled back at release.
  sdk::Transaction tx(*del_conn);
  auto deleted = del_conn->ExecuteSpan(
      "DELETE FROM dbproxy_unread_repair WHERE id IN (" + sql::Marks(padded) + ")", params.data(),
      params.size());
  sdk::Status committed = deleted.ok() ? tx.Commit() : deleted.status();
  if (!tx.begun().ok() || !committed.ok()) {
    host_.Warn("unread repair rows not deleted: ",
               tx.begun().ok() ? committed.message() : tx.begun().message());
    host_.Count("unread_repair_deferred");
    return -1;
  }
  host_.Debug("unread repair: deleted ", deleted->affected(), " of ", ids.size(),
              " rows (first id ", ids.front(), ")");
  return static_cast<int>(n);
}

}  // namespace dbproxy::plugins::unread
