#include "plugins/group_member/member_cache.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::group_member {
namespace {

// Fields per HSET inside the MULTI of Replace(): bounds one command's argument list.
constexpr size_t kFieldsPerHset = 1000;

// KEYS[1] = the hash; ARGV[1] = n, ARGV[2..n+1] = user ids to remove, then (uid, time) pairs.
constexpr std::string_view kUpdateScript =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local n = tonumber(ARGV[1])\n"
    "for i = 2, n + 1 do redis.call('HDEL', KEYS[1], ARGV[i]) end\n"
    "for i = n + 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "return 1\n";

bool ParseU32(std::string_view text, uint32_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

sdk::Status ErrorReply(std::string_view what, std::string_view message) {
  return sdk::Status(DBP_E_REDIS, sdk::StrCat(what, ": ", message));
}

}  // namespace

MemberCache::MemberCache(const sdk::Host& host)
    : host_(host), redis_(host.RedisInstance(keys::kGroupMemberInstance)) {}

sdk::Result<MemberCache::Snapshot> MemberCache::ReadOne(uint32_t group_id, uint32_t user_id) const {
  std::string key = keys::GroupMembers(group_id);
  std::string field = std::to_string(user_id);
  sdk::RedisPipeline pipeline = redis_.Pipeline();
  pipeline.Append({"EXISTS", key});
  pipeline.Append({"HGET", key, field});
  auto reply = pipeline.Exec();
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->size() != 2) {
    return ErrorReply("EXISTS+HGET", "short pipeline reply");
  }
  sdk::RedisValue exists = (*reply)[0];
  sdk::RedisValue value = (*reply)[1];
  if (exists.is_error()) {
    return ErrorReply("EXISTS", exists.str());
  }
  if (value.is_error()) {
    return ErrorReply("HGET", value.str());
  }
  Snapshot snapshot;
  snapshot.exists = exists.integer() > 0;
  if (!value.is_nil()) {
    uint32_t join_time = 0;
    // A join time that is not a number still proves membership.
    if (!ParseU32(value.str(), &join_time)) {
      host_.Count("bad_join_time");
    }
    snapshot.members.push_back({user_id, join_time});
    snapshot.exists = true;  // HGET found a field, so the hash exists whatever EXISTS said
  }
  return snapshot;
}

sdk::Result<MemberCache::Snapshot> MemberCache::ReadAll(uint32_t group_id) const {
  auto reply = redis_.Command({"HGETALL", keys::GroupMembers(group_id)});
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return ErrorReply("HGETALL", reply->str());
  }
  Snapshot snapshot;
  snapshot.exists = reply->size() > 0;
  for (size_t i = 0; i + 1 < reply->size(); i += 2) {
    uint32_t user_id = 0;
    uint32_t join_time = 0;
    if (!ParseU32((*reply)[i].str(), &user_id) || user_id == 0) {
      host_.Count("bad_member_field");
      continue;
    }
    if (!ParseU32((*reply)[i + 1].str(), &join_time)) {
      host_.Count("bad_join_time");
    }
    snapshot.members.push_back({user_id, join_time});
  }
  std::sort(snapshot.members.begin(), snapshot.members.end(),
            [](const membership::Member& a, const membership::Member& b) {
              return a.user_id < b.user_id;
            });
  return snapshot;
}

sdk::Status MemberCache::Replace(uint32_t group_id,
                                 const std::vector<membership::Member>& members) const {
  std::string key = keys::GroupMembers(group_id);
  sdk::RedisPipeline pipeline = redis_.Pipeline();
  pipeline.Append({"MULTI"});
  pipeline.Append({"DEL", key});
  for (size_t at = 0; at < members.size(); at += kFieldsPerHset) {
    std::vector<std::string> args = {"HSET", key};
    for (size_t i = at; i < std::min(members.size(), at + kFieldsPerHset); ++i) {
      args.push_back(std::to_string(members[i].user_id));
      args.push_back(std::to_string(members[i].join_time));
    }
    pipeline.Append(args);
  }
  pipeline.Append({"EXEC"});
  size_t commands = pipeline.count();
  auto reply = pipeline.Exec();
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->size() != commands) {
    return ErrorReply("MULTI", "short pipeline reply");
  }
  for (size_t i = 0; i < commands; ++i) {
    if ((*reply)[i].is_error()) {
      return ErrorReply("MULTI", (*reply)[i].str());
    }
  }
  sdk::RedisValue exec = (*reply)[commands - 1];
  if (exec.type() != DBP_REDIS_ARRAY) {
    return ErrorReply("EXEC", "transaction aborted");
  }
  for (size_t i = 0; i < exec.size(); ++i) {
    if (exec[i].is_error()) {
      return ErrorReply("EXEC", exec[i].str());
    }
  }
  return sdk::Status();
}

sdk::Result<bool> MemberCache::UpdateIfPresent(uint32_t group_id,
                                               const std::vector<membership::Member>& added,
                                               const std::vector<uint32_t>& removed) const {
  std::vector<std::string> args = {"EVAL", std::string(kUpdateScript), "1",
                                   keys::GroupMembers(group_id), std::to_string(removed.size())};
  for (uint32_t user_id : removed) {
    args.push_back(std::to_string(user_id));
  }
  for (const membership::Member& m : added) {
    args.push_back(std::to_string(m.user_id));
    args.push_back(std::to_string(m.join_time));
  }
  auto reply = redis_.Command(args);
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return ErrorReply("EVAL", reply->str());
  }
  return reply->integer() == 1;
}

sdk::Status MemberCache::Drop(uint32_t group_id) const {
  auto reply = redis_.Command({"DEL", keys::GroupMembers(group_id)});
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return ErrorReply("DEL", reply->str());
  }
  return sdk::Status();
}

}  // namespace dbproxy::plugins::group_member
