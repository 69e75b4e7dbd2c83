#include "plugins/user/get_departments.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "IM.Buddy.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::user {
namespace {

uint32_t U32(const sdk::MysqlResult& rows, size_t row, size_t col) {
  return static_cast<uint32_t>(rows.Uint(row, col));
}

}  // namespace

void GetDepartments::Handle(sdk::Request& request) {
  IM::Buddy::IMDepartmentReq req;
  std::string_view body = request.body();
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));

  IM::Buddy::IMDepartmentRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_latest_update_time(req.latest_update_time());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&] {
    sdk::Status s = request.ReplyMessage(sid::kBuddyList, cid::kBuddyDepartmentRsp, rsp);
    if (!s.ok()) {
      host_.Warn("departments: reply failed cmd=0x0210 seq=", request.seq(), ": ", s.message());
    }
  };
  if (!parsed) {
    host_.Warn("departments: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer();
    return;
  }

  size_t cap = config_.max_departments_per_response;
  sdk::Result<sdk::MysqlResult> rows = sdk::Status(DBP_E_INTERNAL, "not run");
  {
    auto conn = host_.Mysql(keys::kSlavePool);
    if (!conn.ok()) {
      host_.Warn("departments: ", conn.status().message(), " seq=", request.seq());
      host_.Count("storage_errors");
      answer();
      return;
    }
    // One row more than the cap tells whether the last second was cut.
    rows = conn->Execute(
        "SELECT id, departName, priority, parentId, status, updated FROM IMDepart "
        "WHERE updated > ? ORDER BY updated, id LIMIT ?",
        {req.latest_update_time(), static_cast<unsigned long long>(cap) + 1});
  }
  if (!rows.ok()) {
    host_.Warn("departments: ", rows.status().message(), " seq=", request.seq());
    host_.Count("storage_errors");
    answer();
    return;
  }

  size_t take = std::min(rows->rows(), cap);
  uint32_t latest = req.latest_update_time();
  if (rows->rows() > cap) {
    // Drop the second the cut falls in, unless it is all there is (then it is split).
    uint32_t cut_second = U32(*rows, cap, 5);
    size_t whole = take;
    while (whole > 0 && U32(*rows, whole - 1, 5) == cut_second) {
      --whole;
    }
    if (whole > 0) {
      take = whole;
      latest = cut_second - 1;
    }
    host_.Warn("departments: more than ", cap, " changed, answering ", take,
               " seq=", request.seq());
    host_.Count("departments_capped");
  }
  for (size_t i = 0; i < take; ++i) {
    latest = std::max(latest, U32(*rows, i, 5));
    uint32_t status = U32(*rows, i, 4);
    if (status != IM::BaseDefine::DEPT_STATUS_OK && status != IM::BaseDefine::DEPT_STATUS_DELETE) {
      continue;
    }
    IM::BaseDefine::DepartInfo* d = rsp.add_dept_list();
    d->set_dept_id(U32(*rows, i, 0));
    d->set_dept_name(std::string(rows->Text(i, 1)));
    d->set_priority(U32(*rows, i, 2));
    d->set_parent_dept_id(U32(*rows, i, 3));
    d->set_dept_status(static_cast<IM::BaseDefine::DepartmentStatusType>(status));
  }
  rsp.set_latest_update_time(latest);
  answer();
}

}  // namespace dbproxy::plugins::user
