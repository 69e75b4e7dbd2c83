#include "plugins/audio/audio_store.h"

#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::audio {

sdk::Result<uint32_t> InsertAudio(const sdk::Host& host, uint32_t from, uint32_t to,
                                  std::string_view path, uint32_t size, uint32_t duration,
                                  uint32_t created) {
  auto conn = host.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto done = conn->Execute(
      "INSERT INTO IMAudio (fromId, toId, path, size, duration, created) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {from, to, path, size, duration, created});
  if (!done.ok()) {
    return done.status();
  }
  uint64_t id = done->insert_id();
  if (id == 0 || id > UINT32_MAX) {
    return sdk::Status(DBP_E_INTERNAL, sdk::StrCat("IMAudio insert returned id ", id));
  }
  return static_cast<uint32_t>(id);
}

sdk::Result<std::vector<AudioRow>> SelectAudio(const sdk::Host& host,
                                               const std::vector<uint32_t>& ids) {
  std::vector<AudioRow> out;
  if (ids.empty()) {
    return out;
  }
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  std::vector<sdk::Param> params;
  sql::AppendPadded(&params, ids);
  std::string sql =
      "SELECT id, path, size, duration FROM IMAudio WHERE id IN " + sql::InList(ids.size());
  auto rows = conn->ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  out.reserve(rows->rows());
  for (size_t i = 0; i < rows->rows(); ++i) {
    AudioRow r;
    r.id = static_cast<uint32_t>(rows->Uint(i, 0));
    r.path = std::string(rows->Text(i, 1));
    r.size = static_cast<uint32_t>(rows->Uint(i, 2));
    r.duration = static_cast<uint32_t>(rows->Uint(i, 3));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace dbproxy::plugins::audio
