#include "plugins/message/get_message_list.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "IM.Message.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/message/msg_info_list.h"
#include "plugins/message/reader_access.h"
#include "plugins/message/wire_body.h"

namespace dbproxy::plugins::message {
namespace {

using IM::Message::IMGetMsgListReq;
using IM::Message::IMGetMsgListRsp;

sdk::Result<std::vector<store::MessageRow>> ReadPage(const sdk::Host& host,
                                                     const IMGetMsgListReq& req, uint32_t limit) {
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
  const uint32_t msg_id_max =
      req.msg_id_begin() == 0 ? std::numeric_limits<uint32_t>::max() : req.msg_id_begin();
  return store::ListMessages(*conn, **access, msg_id_max, limit);
}

}  // namespace

void HandleGetMessageList(const sdk::Host& host, const Config& config, sdk::Request& request) {
  IMGetMsgListReq req;
  const bool parsed = ParseBody(request.body(), &req);
  IMGetMsgListRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_session_type(req.session_type());
  rsp.set_session_id(req.session_id());
  rsp.set_msg_id_begin(req.msg_id_begin());
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host.Warn("cmd=0x0309 seq=", request.seq(), " conn=", request.connection(), ": body of ",
              request.body().size(), " bytes does not parse; answering an empty list");
    host.Count("list_unparsable");
  } else if (const uint32_t limit = std::min(req.msg_cnt(), config.max_msg_cnt); limit > 0) {
    auto rows = ReadPage(host, req, limit);
    if (rows.ok()) {
      AppendMsgInfos(host, std::move(*rows), rsp.mutable_msg_list());
    } else {
      host.Warn("cmd=0x0309 seq=", request.seq(), " user=", req.user_id(),
                " session=", req.session_id(), ": ", rows.status().message(),
                "; answering an empty list");
      host.Count("read_failures");
    }
  }
  ReplyShrinking(host, &rsp, rsp.mutable_msg_list(),
                 [&](const IMGetMsgListRsp& m) { return ReplyMsg(request, cid::kMsgListRsp, m); });
}

}  // namespace dbproxy::plugins::message
