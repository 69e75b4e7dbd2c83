#include "plugins/file/has_offline_files.h"

#include "IM.File.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/file/offline_file_store.h"

namespace dbproxy::plugins::file {

void HasOfflineFiles::Handle(sdk::Request& request) {
  IM::File::IMFileHasOfflineReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::File::IMFileHasOfflineRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kFile, cid::kFileHasOfflineRsp, rsp);
    if (!s.ok()) {
      host_.Warn("offline files: reply failed cmd=0x0509 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("offline files: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  auto files = ListPending(host_, req.user_id(), config_.max_offline_files);
  if (!files.ok()) {
    host_.Warn("offline files: ", files.status().message(), " user=", req.user_id(),
               " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }
  for (const OfflineFile& f : *files) {
    IM::BaseDefine::OfflineFileInfo* info = rsp.add_offline_file_list();
    info->set_from_user_id(f.from_user_id);
    info->set_task_id(f.task_id);
    info->set_file_name(f.file_name);
    info->set_file_size(f.file_size);
  }
  answer();
}

}  // namespace dbproxy::plugins::file
