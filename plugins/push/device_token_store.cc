#include "plugins/push/device_token_store.h"

#include <algorithm>

#include "IM.BaseDefine.pb.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::push {
namespace {

constexpr std::string_view kIosPrefix = "ios:";
constexpr std::string_view kAndroidPrefix = "android:";
constexpr size_t kKeysPerMget = 1000;

sdk::Status ReplyError(const sdk::RedisReply& reply) {
  return sdk::Status(DBP_E_REDIS, std::string(reply.str()));
}

}  // namespace

std::string StoredValue(std::optional<uint32_t> client_type, std::string_view token) {
  if (client_type == IM::BaseDefine::CLIENT_TYPE_IOS) {
    return std::string(kIosPrefix) + std::string(token);
  }
  if (client_type == IM::BaseDefine::CLIENT_TYPE_ANDROID) {
    return std::string(kAndroidPrefix) + std::string(token);
  }
  return std::string(token);
}

DeviceToken ParseStoredValue(std::string_view value) {
  DeviceToken t;
  if (value.substr(0, kIosPrefix.size()) == kIosPrefix) {
    t.kind = DeviceKind::kIos;
    t.token = std::string(value.substr(kIosPrefix.size()));
  } else if (value.substr(0, kAndroidPrefix.size()) == kAndroidPrefix) {
    t.kind = DeviceKind::kAndroid;
    t.token = std::string(value.substr(kAndroidPrefix.size()));
  } else {
    t.token = std::string(value);
  }
  return t;
}

sdk::Status SaveDeviceToken(const sdk::Host& host, uint32_t user_id, std::string_view value,
                            std::string_view token) {
  sdk::Redis redis = host.RedisInstance(keys::kTokenInstance);
  const std::string user_key = keys::DeviceOfUser(user_id);
  const std::string uid = keys::Num(user_id);

  auto old = redis.Command({"GET", user_key});
  if (!old.ok()) {
    return old.status();
  }
  if (old->is_error()) {
    return ReplyError(*old);
  }
  std::string old_token = ParseStoredValue(old->str()).token;
  if (!old_token.empty() && old_token != token) {
    const std::string old_key = keys::UserOfDevice(old_token);
    auto owner = redis.Command({"GET", old_key});
    if (!owner.ok()) {
      return owner.status();
    }
    if (owner->type() == DBP_REDIS_STRING && owner->str() == uid) {
      auto cleared = redis.Command({"SET", old_key, ""});
      if (!cleared.ok()) {
        return cleared.status();
      }
      if (cleared->is_error()) {
        return ReplyError(*cleared);
      }
    }
  }

  sdk::RedisPipeline writes = redis.Pipeline();
  writes.Append({"SET", user_key, value});
  if (!token.empty()) {
    writes.Append({"SET", keys::UserOfDevice(std::string(token)), uid});
  }
  auto done = writes.Exec();
  if (!done.ok()) {
    return done.status();
  }
  for (size_t i = 0; i < done->size(); ++i) {
    if ((*done)[i].is_error()) {
      return sdk::Status(DBP_E_REDIS, std::string((*done)[i].str()));
    }
  }
  return sdk::Status();
}

sdk::Result<std::vector<std::optional<std::string>>> LoadDeviceTokens(
    const sdk::Host& host, const std::vector<uint32_t>& users) {
  sdk::Redis redis = host.RedisInstance(keys::kTokenInstance);
  std::vector<std::optional<std::string>> out;
  out.reserve(users.size());
  for (size_t at = 0; at < users.size(); at += kKeysPerMget) {
    size_t end = std::min(users.size(), at + kKeysPerMget);
    std::vector<std::string> args = {"MGET"};
    for (size_t i = at; i < end; ++i) {
      args.push_back(keys::DeviceOfUser(users[i]));
    }
    auto reply = redis.Command(args);
    if (!reply.ok()) {
      return reply.status();
    }
    if (reply->is_error()) {
      return ReplyError(*reply);
    }
    if (reply->size() != end - at) {
      return sdk::Status(DBP_E_REDIS, "MGET answered the wrong number of values");
    }
    for (size_t i = 0; i < reply->size(); ++i) {
      sdk::RedisValue v = (*reply)[i];
      out.push_back(v.is_string() ? std::optional<std::string>(std::string(v.str()))
                                  : std::nullopt);
    }
  }
  return out;
}

}  // namespace dbproxy::plugins::push
