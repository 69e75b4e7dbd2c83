#include "plugins/file/delete_offline_file.h"

#include "IM.File.pb.h"
#include "plugins/file/offline_file_store.h"

namespace dbproxy::plugins::file {

void DeleteOfflineFile::Handle(sdk::Request& request) {
  IM::File::IMFileDelOfflineReq req;
  std::string_view body = request.body();
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    host_.Warn("delete offline file: body does not parse (", body.size(),
               " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    return;
  }
  auto deleted = DeletePending(host_, req.from_user_id(), req.to_user_id(), req.task_id());
  if (!deleted.ok()) {
    host_.Warn("delete offline file: ", deleted.status().message(), " from=", req.from_user_id(),
               " to=", req.to_user_id(), " seq=", request.seq());
    host_.Count("storage_errors");
    return;
  }
  host_.Count(*deleted > 0 ? "offline_files_deleted" : "offline_file_delete_missed");
}

}  // namespace dbproxy::plugins::file
