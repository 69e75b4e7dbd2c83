#include "plugins/message/get_message_by_id.h"

#include <algorithm>
#include <vector>

#include "IM.Message.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/message/msg_info_list.h"
#include "plugins/message/reader_access.h"
#include "plugins/message/wire_body.h"

namespace dbproxy::plugins::message {
namespace {

using IM::Message::IMGetMsgByIdReq;
using IM::Message::IMGetMsgByIdRsp;

// The first max_ids distinct ids of the request, in request order.
std::vector<uint32_t> WantedIds(const IMGetMsgByIdReq& req, uint32_t max_ids) {
  std::vector<uint32_t> ids;
  for (uint32_t id : req.msg_id_list()) {
    if (ids.size() >= max_ids) {
      break;
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      ids.push_back(id);
    }
  }
  return ids;
}

sdk::Result<std::vector<store::MessageRow>> ReadMessages(const sdk::Host& host,
                                                         const IMGetMsgByIdReq& req,
                                                         const std::vector<uint32_t>& ids,
                                                         uint32_t limit) {
  auto access = ResolveReaderAccess(host, req.user_id(), req.session_type(), req.session_id());
  if (!access.ok()) {
    return access.status();
  }
  if (!*access) {
    return std::vector<store::MessageRow>();
  }
  sdk::Result<sdk::MysqlConn> conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  return store::MessagesById(*conn, **access, ids, limit);
}

}  // namespace

void HandleGetMessageById(const sdk::Host& host, const Config& config, sdk::Request& request) {
  IMGetMsgByIdReq req;
  const bool parsed = ParseBody(request.body(), &req);
  IMGetMsgByIdRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_session_type(req.session_type());
  rsp.set_session_id(req.session_id());
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host.Warn("cmd=0x030d seq=", request.seq(), " conn=", request.connection(), ": body of ",
              request.body().size(), " bytes does not parse; answering an empty list");
    host.Count("by_id_unparsable");
  } else if (std::vector<uint32_t> ids = WantedIds(req, config.max_msg_ids); !ids.empty()) {
    // Old data may hold one msgId twice (W8); the limit keeps the answer bounded anyway.
    auto rows = ReadMessages(host, req, ids, config.max_msg_ids);
    if (rows.ok()) {
      AppendMsgInfos(host, std::move(*rows), rsp.mutable_msg_list());
    } else {
      host.Warn("cmd=0x030d seq=", request.seq(), " user=", req.user_id(),
                " session=", req.session_id(), ": ", rows.status().message(),
                "; answering an empty list");
      host.Count("read_failures");
    }
  }
  ReplyShrinking(host, &rsp, rsp.mutable_msg_list(), [&](const IMGetMsgByIdRsp& m) {
    return ReplyMsg(request, cid::kMsgGetByMsgIdRsp, m);
  });
}

}  // namespace dbproxy::plugins::message
