#pragma once

// The SQL of the user module on IMUser. Every statement is prepared with '?' parameters;
// the caller owns the connection (teamtalk_slave for reads, teamtalk_master for writes).
// Thread: any worker; a connection is used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::user {

// Maps one row read with the kUserColumns list to a UserInfo (spec H01 mapping, status =
// the column value). SQL NULL reads as "" / 0 (W27).
void FillUserInfo(const sdk::MysqlResult& rows, size_t row, IM::BaseDefine::UserInfo* out);

// The `updated` column of a row read with the kUserColumns list.
uint32_t RowUpdated(const sdk::MysqlResult& rows, size_t row);

// Users by id (any status), ascending id. ids must be non-empty, at most 1024 per call.
sdk::Result<sdk::MysqlResult> SelectUsersById(sdk::MysqlConn& conn,
                                              const std::vector<uint32_t>& ids);

// Which users a 0x0208 request asks for (spec H07).
struct ChangeFilter {
  bool full = true;    // latest_update_time 0: every user whose status is not 3 (NULL = 0)
  uint32_t since = 0;  // otherwise: updated >= since, any status
};

// Restricts a scan further by `updated`, relative to value.
enum class UpdatedBound { kNone, kBelow, kEqual };

struct ChangeStats {
  uint64_t count = 0;
  uint32_t min_updated = 0;
  uint32_t max_updated = 0;  // the "users changed since" marker, straight from MySQL
};

// COUNT, MIN(updated), MAX(updated) of the users matching filter (one statement).
sdk::Result<ChangeStats> CountChanged(sdk::MysqlConn& conn, const ChangeFilter& filter);

// The `updated` value of the user at position offset (0-based) when the matching users are
// ordered by updated; nullopt if fewer than offset + 1 users match.
sdk::Result<std::optional<uint32_t>> UpdatedAtRank(sdk::MysqlConn& conn, const ChangeFilter& filter,
                                                   uint64_t offset);

// Walks the users matching filter (and bound/value) in ascending id order, batch_size rows
// per SELECT (keyset pagination: `id > last` on the primary key), calling visit for each row
// until it returns false or the rows run out. Never holds more than one batch in memory.
using RowVisitor = std::function<bool(const sdk::MysqlResult& rows, size_t row)>;
sdk::Status ScanChanged(sdk::MysqlConn& conn, const ChangeFilter& filter, UpdatedBound bound,
                        uint32_t value, size_t batch_size, const RowVisitor& visit);

// UPDATE IMUser SET <column> = text, updated = now WHERE id = user_id. Returns the number of
// rows matched (CLIENT_FOUND_ROWS: writing the current value again still matches, W36).
enum class TextColumn { kSignInfo, kAvatar };
sdk::Result<uint64_t> UpdateText(sdk::MysqlConn& conn, TextColumn column, uint32_t user_id,
                                 std::string_view text, uint32_t now);

}  // namespace dbproxy::plugins::user
