#include "plugins/message/get_latest_msg_id.h"

#include "IM.Message.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/key_format.h"
#include "plugins/message/reader_access.h"
#include "plugins/message/wire_body.h"

namespace dbproxy::plugins::message {
namespace {

using IM::Message::IMGetLatestMsgIdReq;
using IM::Message::IMGetLatestMsgIdRsp;

sdk::Result<uint32_t> ReadLatest(const sdk::Host& host, const IMGetLatestMsgIdReq& req) {
  auto access = ResolveReaderAccess(host, req.user_id(), req.session_type(), req.session_id());
  if (!access.ok()) {
    return access.status();
  }
  if (!*access) {
    return 0u;
  }
  sdk::Result<sdk::MysqlConn> conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    return conn.status();
  }
  return store::LatestMsgId(*conn, **access);
}

}  // namespace

void HandleGetLatestMsgId(const sdk::Host& host, sdk::Request& request) {
  IMGetLatestMsgIdReq req;
  const bool parsed = ParseBody(request.body(), &req);
  IMGetLatestMsgIdRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_session_type(req.session_type());
  rsp.set_session_id(req.session_id());
  rsp.set_latest_msg_id(0);
  rsp.set_attach_data(req.attach_data());

  if (!parsed) {
    host.Warn("cmd=0x030b seq=", request.seq(), " conn=", request.connection(), ": body of ",
              request.body().size(), " bytes does not parse; answering latest_msg_id 0");
    host.Count("latest_unparsable");
  } else if (sdk::Result<uint32_t> latest = ReadLatest(host, req); latest.ok()) {
    rsp.set_latest_msg_id(*latest);
  } else {
    host.Warn("cmd=0x030b seq=", request.seq(), " user=", req.user_id(),
              " session=", req.session_id(), ": ", latest.status().message(),
              "; answering latest_msg_id 0");
    host.Count("read_failures");
  }
  sdk::Status replied = ReplyMsg(request, cid::kMsgGetLatestMsgIdRsp, rsp);
  if (!replied.ok()) {
    host.Error("cmd=0x030b seq=", request.seq(), ": answer not sent: ", replied.message());
    host.Count("reply_failures");
  }
}

}  // namespace dbproxy::plugins::message
