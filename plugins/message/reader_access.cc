#include "plugins/message/reader_access.h"

#include <algorithm>

#include "IM.BaseDefine.pb.h"
#include "plugins/common/key_format.h"
#include "plugins/common/membership.h"

namespace dbproxy::plugins::message {

sdk::Result<std::optional<store::Conversation>> ResolveReaderAccess(const sdk::Host& host,
                                                                    uint32_t user_id,
                                                                    uint32_t session_type,
                                                                    uint32_t session_id) {
  using Found = std::optional<store::Conversation>;
  if (user_id == 0 || session_id == 0) {
    return Found();
  }
  if (session_type == IM::BaseDefine::SESSION_TYPE_SINGLE) {
    sdk::Result<sdk::MysqlConn> conn = host.Mysql(keys::kSlavePool);
    if (!conn.ok()) {
      return conn.status();
    }
    sdk::Result<uint32_t> relate_id =
        store::FindRelation(*conn, std::min(user_id, session_id), std::max(user_id, session_id));
    if (!relate_id.ok()) {
      return relate_id.status();
    }
    if (*relate_id == 0) {
      return Found();
    }
    return Found(store::Conversation{false, *relate_id, 0});
  }
  if (session_type != IM::BaseDefine::SESSION_TYPE_GROUP) {
    return Found();
  }

  membership::Answer answer = membership::Query(host, session_id, user_id);
  if (answer.status == membership::Lookup::kError) {
    return sdk::Status(DBP_E_UNAVAILABLE, "group membership service failed");
  }
  if (answer.status != membership::Lookup::kOk) {
    return Found();
  }
  for (const membership::Member& member : answer.members) {
    if (member.user_id == user_id) {
      return Found(store::Conversation{true, session_id, member.join_time});
    }
  }
  return Found();
}

}  // namespace dbproxy::plugins::message
