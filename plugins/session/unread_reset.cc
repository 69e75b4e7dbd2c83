#include "plugins/session/unread_reset.h"

#include <string>
#include <string_view>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::session {
namespace {

// KEYS[1] = <gid>_im_group_msg, KEYS[2] = <uid>_<gid>_im_user_group.
constexpr std::string_view kMarkGroupReadScript =
    "local total = redis.call('HGET', KEYS[1], 'count') "
    "if not total then total = '0' end "
    "redis.call('HSET', KEYS[2], 'count', total) "
    "return total";

}  // namespace

sdk::Status ResetUnread(const sdk::Host& host, uint32_t user_id, uint32_t peer_id,
                        uint32_t session_type) {
  sdk::Redis redis = host.RedisInstance(keys::kUnreadInstance);
  sdk::Result<sdk::RedisReply> reply = sdk::Status(DBP_E_INVALID, "unknown session type");
  if (session_type == 1) {
    std::string key = keys::UserUnread(user_id);
    std::string field = keys::Num(peer_id);
    reply = redis.Command({"HDEL", key, field});
  } else if (session_type == 2) {
    std::string group_key = keys::GroupMsgCount(peer_id);
    std::string user_key = keys::UserGroupRead(user_id, peer_id);
    reply = redis.Command({"EVAL", kMarkGroupReadScript, "2", group_key, user_key});
  }
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return sdk::Status(DBP_E_REDIS, std::string(reply->str()));
  }
  return sdk::Status();
}

}  // namespace dbproxy::plugins::session
