#include "plugins/group_chat/create_group.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "IM.Group.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/group_read_marker.h"
#include "plugins/common/key_format.h"
#include "plugins/group_chat/group_store.h"

namespace dbproxy::plugins::group_chat {
namespace {

// IMGroup.name and IMGroup.avatar are varchar(256), counted in characters.
constexpr size_t kMaxTextChars = 256;
// Fields per HSET inside the MULTI that writes the member hash.
constexpr size_t kFieldsPerHset = 1000;

// Code points of UTF-8 text (bytes that do not continue a sequence).
size_t Utf8Chars(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// group_member_<gid> := the members, in one MULTI/EXEC (DEL first: a hash left by an older
// group with this id must not survive).
sdk::Status WriteMemberHash(const sdk::Host& host, uint32_t group_id,
                            const std::vector<uint32_t>& members, uint32_t now) {
  std::string key = keys::GroupMembers(group_id);
  std::string join_time = std::to_string(now);
  sdk::RedisPipeline pipeline = host.RedisInstance(keys::kGroupMemberInstance).Pipeline();
  pipeline.Append({"MULTI"});
  pipeline.Append({"DEL", key});
  for (size_t at = 0; at < members.size(); at += kFieldsPerHset) {
    std::vector<std::string> args = {"HSET", key};
    for (size_t i = at; i < std::min(members.size(), at + kFieldsPerHset); ++i) {
      args.push_back(std::to_string(members[i]));
      args.push_back(join_time);
    }
    pipeline.Append(args);
  }
  pipeline.Append({"EXEC"});
  size_t commands = pipeline.count();
  auto reply = pipeline.Exec();
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->size() != commands || (*reply)[commands - 1].type() != DBP_REDIS_ARRAY) {
    return sdk::Status(DBP_E_REDIS, "MULTI/EXEC of the member hash aborted");
  }
  sdk::RedisValue exec = (*reply)[commands - 1];
  for (size_t i = 0; i < exec.size(); ++i) {
    if (exec[i].is_error()) {
      return sdk::Status(DBP_E_REDIS, std::string(exec[i].str()));
    }
  }
  return sdk::Status();
}

// The Redis side of a committed group. Failures are logged and counted only.
void WriteRedis(const sdk::Host& host, uint32_t group_id, const std::vector<uint32_t>& members,
                uint32_t now) {
  sdk::Status s = WriteMemberHash(host, group_id, members, now);
  if (!s.ok()) {
    host.Warn("group ", group_id, ": writing ", keys::GroupMembers(group_id), ": ", s.message(),
              "; the membership service rebuilds it from MySQL");
    host.Count("member_hash_write_failed");
    // A half-written hash would be worse than none.
    (void)host.RedisInstance(keys::kGroupMemberInstance)
        .Command({"DEL", keys::GroupMembers(group_id)});
  }
  auto counter = host.RedisInstance(keys::kUnreadInstance)
                     .Command({"SET", keys::GroupMsgId(group_id), "0", "NX"});
  if (!counter.ok() || counter->is_error()) {
    host.Warn("group ", group_id, ": creating ", keys::GroupMsgId(group_id), ": ",
              counter.ok() ? std::string(counter->str()) : counter.status().message());
    host.Count("msg_id_counter_failed");
  }
  s = read_marker::MarkGroupRead(host, group_id, members);
  if (!s.ok()) {
    host.Warn("group ", group_id, ": setting the members' read markers: ", s.message());
    host.Count("read_marker_failed");
  }
}

}  // namespace

void HandleCreateGroup(const sdk::Host& host, const Config& config, sdk::Request& request) {
  std::string_view body = request.body();
  IM::Group::IMGroupCreateReq req;
  bool parsed = req.ParseFromArray(body.data(), static_cast<int>(body.size()));
  IM::Group::IMGroupCreateRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_result_code(1);
  rsp.set_group_name(req.group_name());
  rsp.set_attach_data(req.attach_data());
  auto reply = [&] { (void)request.ReplyMessage(sid::kGroup, cid::kGroupCreateRsp, rsp); };
  auto refuse = [&](std::string_view why, const char* counter) {
    host.Warn("cmd=0x0405 seq=", request.seq(), " user=", req.user_id(), ": ", why);
    host.Count(counter);
    reply();
  };

  if (!parsed) {
    return refuse("body does not parse (missing field or unknown group_type)", "bad_request");
  }
  if (static_cast<uint32_t>(req.member_id_list_size()) > config.max_members_per_change) {
    return refuse(
        sdk::StrCat(req.member_id_list_size(), " member ids, more than max_members_per_change ",
                    config.max_members_per_change),
        "too_many_members");
  }
  std::set<uint32_t> distinct(req.member_id_list().begin(), req.member_id_list().end());
  distinct.erase(0);
  if (req.group_name().empty()) {
    return refuse("empty group name", "bad_request");
  }
  if (distinct.empty()) {
    return refuse("no members", "bad_request");
  }
  if (Utf8Chars(req.group_name()) > kMaxTextChars ||
      Utf8Chars(req.group_avatar()) > kMaxTextChars) {
    return refuse("group name or avatar longer than 256 characters", "bad_request");
  }

  NewGroup group;
  group.name = req.group_name();
  group.avatar = req.group_avatar();
  group.creator = req.user_id();
  group.type = static_cast<uint32_t>(req.group_type());
  group.members.assign(distinct.begin(), distinct.end());  // ascending
  group.now = static_cast<uint32_t>(std::time(nullptr));

  sdk::Result<uint32_t> created = sdk::Status(DBP_E_INTERNAL, "not run");
  {
    auto conn = host.Mysql(keys::kMasterPool);
    created = conn.ok() ? GroupStore(*conn).Create(group) : sdk::Result<uint32_t>(conn.status());
  }
  if (!created.ok()) {
    return refuse(sdk::StrCat("create: ", created.status().message()), "storage_failed");
  }

  WriteRedis(host, *created, group.members, group.now);
  rsp.set_result_code(0);
  rsp.set_group_id(*created);
  for (uint32_t id : group.members) {
    rsp.add_user_id_list(id);
  }
  host.Debug("cmd=0x0405 seq=", request.seq(), " user=", req.user_id(), ": created group ",
             *created, " with ", group.members.size(), " members");
  reply();
}

}  // namespace dbproxy::plugins::group_chat
