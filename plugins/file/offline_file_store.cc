#include "plugins/file/offline_file_store.h"

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::file {

sdk::Result<std::vector<OfflineFile>> ListPending(const sdk::Host& host, uint32_t to_user_id,
                                                  size_t limit) {
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto rows = conn->Execute(
      "SELECT fromId, taskId, fileName, size FROM IMTransmitFile "
      "WHERE toId = ? AND status = 0 ORDER BY created, id LIMIT ?",
      {to_user_id, static_cast<unsigned long long>(limit)});
  if (!rows.ok()) {
    return rows.status();
  }
  std::vector<OfflineFile> files;
  files.reserve(rows->rows());
  for (size_t i = 0; i < rows->rows(); ++i) {
    OfflineFile f;
    f.from_user_id = static_cast<uint32_t>(rows->Uint(i, 0));
    f.task_id = std::string(rows->Text(i, 1));
    f.file_name = std::string(rows->Text(i, 2));
    f.file_size = static_cast<uint32_t>(rows->Uint(i, 3));
    files.push_back(std::move(f));
  }
  return files;
}

sdk::Status AddPending(const sdk::Host& host, uint32_t from_user_id, uint32_t to_user_id,
                       const OfflineFile& file, uint32_t now) {
  auto conn = host.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto done = conn->Execute(
      "INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, "
      "updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
      {from_user_id, to_user_id, file.file_name, file.file_size, file.task_id, now, now});
  return done.ok() ? sdk::Status() : done.status();
}

sdk::Result<uint64_t> DeletePending(const sdk::Host& host, uint32_t from_user_id,
                                    uint32_t to_user_id, std::string_view task_id) {
  auto conn = host.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return conn.status();
  }
  auto done =
      conn->Execute("DELETE FROM IMTransmitFile WHERE fromId = ? AND toId = ? AND taskId = ?",
                    {from_user_id, to_user_id, task_id});
  if (!done.ok()) {
    return done.status();
  }
  return done->affected();
}

}  // namespace dbproxy::plugins::file
