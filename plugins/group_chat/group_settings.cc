#include "plugins/group_chat/group_settings.h"

#include <charconv>
#include <string>
#include <string_view>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::group_chat {
namespace {

constexpr std::string_view kPushSuffix = "_1";

bool ParseU32(std::string_view text, uint32_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

GroupSettings::GroupSettings(const sdk::Host& host)
    : redis_(host.RedisInstance(keys::kGroupSetInstance)) {}

sdk::Status GroupSettings::SetPushShield(uint32_t group_id, uint32_t user_id,
                                         uint32_t status) const {
  auto reply = redis_.Command({"HSET", keys::GroupSettings(group_id), keys::GroupPushField(user_id),
                               std::to_string(status)});
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return sdk::Status(DBP_E_REDIS, std::string(reply->str()));
  }
  return sdk::Status();
}

sdk::Result<std::unordered_map<uint32_t, uint32_t>> GroupSettings::PushShields(
    uint32_t group_id) const {
  auto reply = redis_.Command({"HGETALL", keys::GroupSettings(group_id)});
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return sdk::Status(DBP_E_REDIS, std::string(reply->str()));
  }
  std::unordered_map<uint32_t, uint32_t> out;
  for (size_t i = 0; i + 1 < reply->size(); i += 2) {
    std::string_view field = (*reply)[i].str();
    if (field.size() <= kPushSuffix.size() || !field.ends_with(kPushSuffix)) {
      continue;
    }
    uint32_t user_id = 0;
    if (!ParseU32(field.substr(0, field.size() - kPushSuffix.size()), &user_id)) {
      continue;
    }
    uint32_t status = 0;
    if (!ParseU32((*reply)[i + 1].str(), &status)) {
      status = 0;
    }
    out[user_id] = status;
  }
  return out;
}

}  // namespace dbproxy::plugins::group_chat
