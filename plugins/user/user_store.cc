#include "plugins/user/user_store.h"

#include <string>

#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::user {
namespace {

// The columns FillUserInfo and RowUpdated read, in this order.
constexpr std::string_view kUserColumns =
    "id, sex, nick, avatar, departId, email, name, phone, domain, status, sign_info, updated";

// The WHERE condition of a filter; binds its parameter (if any) into params.
std::string FilterSql(const ChangeFilter& filter, std::vector<sdk::Param>* params) {
  if (filter.full) {
    // NULL status is reported as 0 (active), so it is not "resigned" either.
    return "(status IS NULL OR status <> 3)";
  }
  params->emplace_back(filter.since);
  return "updated >= ?";
}

uint32_t U32(const sdk::MysqlResult& rows, size_t row, size_t col) {
  return static_cast<uint32_t>(rows.Uint(row, col));
}

}  // namespace

void FillUserInfo(const sdk::MysqlResult& rows, size_t row, IM::BaseDefine::UserInfo* out) {
  out->set_user_id(U32(rows, row, 0));
  out->set_user_gender(U32(rows, row, 1));
  out->set_user_nick_name(std::string(rows.Text(row, 2)));
  out->set_avatar_url(std::string(rows.Text(row, 3)));
  out->set_department_id(U32(rows, row, 4));
  out->set_email(std::string(rows.Text(row, 5)));
  out->set_user_real_name(std::string(rows.Text(row, 6)));  // the login name (spec H01)
  out->set_user_tel(std::string(rows.Text(row, 7)));
  out->set_user_domain(std::string(rows.Text(row, 8)));
  out->set_status(U32(rows, row, 9));
  out->set_sign_info(std::string(rows.Text(row, 10)));
}

uint32_t RowUpdated(const sdk::MysqlResult& rows, size_t row) { return U32(rows, row, 11); }

sdk::Result<sdk::MysqlResult> SelectUsersById(sdk::MysqlConn& conn,
                                              const std::vector<uint32_t>& ids) {
  std::vector<sdk::Param> params;
  sql::AppendPadded(&params, ids);
  std::string sql = sdk::StrCat("SELECT ", kUserColumns, " FROM IMUser WHERE id IN ",
                                sql::InList(ids.size()), " ORDER BY id");
  return conn.ExecuteSpan(sql, params.data(), params.size());
}

sdk::Result<ChangeStats> CountChanged(sdk::MysqlConn& conn, const ChangeFilter& filter) {
  std::vector<sdk::Param> params;
  std::string sql =
      "SELECT COUNT(*), MIN(updated), MAX(updated) FROM IMUser WHERE " + FilterSql(filter, &params);
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  ChangeStats stats;
  if (rows->rows() == 1) {
    stats.count = rows->Uint(0, 0);
    stats.min_updated = U32(*rows, 0, 1);
    stats.max_updated = U32(*rows, 0, 2);
  }
  return stats;
}

sdk::Result<std::optional<uint32_t>> UpdatedAtRank(sdk::MysqlConn& conn, const ChangeFilter& filter,
                                                   uint64_t offset) {
  std::vector<sdk::Param> params;
  std::string sql = "SELECT updated FROM IMUser WHERE " + FilterSql(filter, &params) +
                    " ORDER BY updated LIMIT ?, 1";
  params.emplace_back(static_cast<unsigned long long>(offset));
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->rows() == 0) {
    return std::optional<uint32_t>();
  }
  return std::optional<uint32_t>(U32(*rows, 0, 0));
}

sdk::Status ScanChanged(sdk::MysqlConn& conn, const ChangeFilter& filter, UpdatedBound bound,
                        uint32_t value, size_t batch_size, const RowVisitor& visit) {
  std::vector<sdk::Param> fixed;
  std::string where = FilterSql(filter, &fixed);
  if (bound == UpdatedBound::kBelow) {
    where += " AND updated < ?";
    fixed.emplace_back(value);
  } else if (bound == UpdatedBound::kEqual) {
    where += " AND updated = ?";
    fixed.emplace_back(value);
  }
  std::string sql = sdk::StrCat("SELECT ", kUserColumns, " FROM IMUser WHERE ", where,
                                " AND id > ? ORDER BY id LIMIT ?");
  uint64_t last_id = 0;
  for (;;) {
    std::vector<sdk::Param> params = fixed;
    params.emplace_back(static_cast<unsigned long long>(last_id));
    params.emplace_back(static_cast<unsigned long long>(batch_size));
    auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
    if (!rows.ok()) {
      return rows.status();
    }
    for (size_t i = 0; i < rows->rows(); ++i) {
      if (!visit(*rows, i)) {
        return sdk::Status();
      }
    }
    if (rows->rows() < batch_size) {
      return sdk::Status();
    }
    last_id = rows->Uint(rows->rows() - 1, 0);
  }
}

sdk::Result<uint64_t> UpdateText(sdk::MysqlConn& conn, TextColumn column, uint32_t user_id,
                                 std::string_view text, uint32_t now) {
  const char* sql = column == TextColumn::kSignInfo
                        ? "UPDATE IMUser SET sign_info = ?, updated = ? WHERE id = ?"
                        : "UPDATE IMUser SET avatar = ?, updated = ? WHERE id = ?";
  auto result = conn.Execute(sql, {text, now, user_id});
  if (!result.ok()) {
    return result.status();
  }
  return result->affected();
}

}  // namespace dbproxy::plugins::user
