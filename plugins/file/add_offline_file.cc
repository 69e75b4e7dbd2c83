#include "plugins/file/add_offline_file.h"

#include <ctime>
#include <string_view>

#include "IM.File.pb.h"
#include "plugins/file/offline_file_store.h"

namespace dbproxy::plugins::file {
namespace {

constexpr size_t kMaxFileNameChars = 255;  // IMTransmitFile.fileName varchar(255)
constexpr size_t kMaxTaskIdChars = 128;    // IMTransmitFile.taskId varchar(128)

// Characters of UTF-8 text (bytes that do not continue a sequence), as MySQL counts them.
size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

}  // namespace

void AddOfflineFile::Handle(sdk::Request& request) {
  IM::File::IMFileAddOfflineReq req;
  std::string_view body = request.body();
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    host_.Warn("add offline file: body does not parse (", body.size(),
               " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    return;
  }
  if (Utf8Chars(req.file_name()) > kMaxFileNameChars ||
      Utf8Chars(req.task_id()) > kMaxTaskIdChars) {
    host_.Warn("add offline file: file name or task id too long from=", req.from_user_id(),
               " to=", req.to_user_id(), " seq=", request.seq());
    host_.Count("bad_requests");
    return;
  }
  OfflineFile file;
  file.task_id = req.task_id();
  file.file_name = req.file_name();
  file.file_size = req.file_size();
  sdk::Status s = AddPending(host_, req.from_user_id(), req.to_user_id(), file,
                             static_cast<uint32_t>(std::time(nullptr)));
  if (!s.ok()) {
    host_.Warn("add offline file: ", s.message(), " from=", req.from_user_id(),
               " to=", req.to_user_id(), " seq=", request.seq());
    host_.Count("storage_errors");
    return;
  }
  host_.Count("offline_files_added");
}

}  // namespace dbproxy::plugins::file
