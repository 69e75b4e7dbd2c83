#include "plugins/unread/unread_counters.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::unread {
namespace {

// KEYS[1] = <gid>_im_group_msg, KEYS[2] = <from>_<gid>_im_user_group.
constexpr std::string_view kAddGroupScript =
    "local total = redis.call('HINCRBY', KEYS[1], 'count', 1) "
    "redis.call('HSET', KEYS[2], 'count', total) "
    "return total";

// KEYS[1] = the message's counted marker, KEYS[2] = unread_<to>; ARGV[1] = from,
// ARGV[2] = the marker's lifetime (s). Returns 1 if counted now, 0 if counted before.
constexpr std::string_view kAddSingleOnceScript =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "redis.call('HINCRBY', KEYS[2], ARGV[1], 1) "
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[2]) "
    "return 1";

// KEYS[1] = the message's counted marker, KEYS[2] = <gid>_im_group_msg,
// KEYS[3] = <from>_<gid>_im_user_group; ARGV[1] = the marker's lifetime (s).
constexpr std::string_view kAddGroupOnceScript =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "local total = redis.call('HINCRBY', KEYS[2], 'count', 1) "
    "redis.call('HSET', KEYS[3], 'count', total) "
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) "
    "return 1";

// How long a replayed message stays marked as counted: far longer than any replay takes
// from its Redis write to the DELETE of its row.
constexpr std::string_view kCountedMarkerSeconds = "86400";

std::string CountedMarker(const UnreadCounters::Increment& inc) {
  if (inc.session_type == 1) {
    return "dbproxy_unread_counted_1_" + keys::Num(inc.from) + "_" + keys::Num(inc.to) + "_" +
           keys::Num(inc.msg_id);
  }
  return "dbproxy_unread_counted_2_" + keys::Num(inc.to) + "_" + keys::Num(inc.msg_id);
}

// KEYS[1] = <gid>_im_group_msg, KEYS[2] = <uid>_<gid>_im_user_group.
constexpr std::string_view kClearGroupScript =
    "local total = redis.call('HGET', KEYS[1], 'count') "
    "if not total then total = '0' end "
    "redis.call('HSET', KEYS[2], 'count', total) "
    "return total";

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

uint32_t ClampU32(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<uint32_t>::max()));
}

sdk::Status Checked(sdk::Result<sdk::RedisReply> reply, const char* what) {
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->is_error()) {
    return sdk::Status(DBP_E_REDIS, sdk::StrCat(what, ": ", reply->str()));
  }
  return sdk::Status();
}

}  // namespace

std::vector<sdk::Status> UnreadCounters::Add(const std::vector<Increment>& increments,
                                             bool* round_trip_failed) const {
  if (round_trip_failed != nullptr) {
    *round_trip_failed = false;
  }
  if (increments.empty()) {
    return {};
  }
  sdk::RedisPipeline pipeline = host_.RedisInstance(keys::kUnreadInstance).Pipeline();
  for (const Increment& inc : increments) {
    if (inc.session_type == 1) {
      pipeline.Append({"HINCRBY", keys::UserUnread(inc.to), keys::Num(inc.from), "1"});
    } else {
      pipeline.Append({"EVAL", kAddGroupScript, "2", keys::GroupMsgCount(inc.to),
                       keys::UserGroupRead(inc.from, inc.to)});
    }
  }
  return Finish(pipeline, increments, round_trip_failed);
}

std::vector<sdk::Status> UnreadCounters::AddOnce(const std::vector<Increment>& increments,
                                                 bool* round_trip_failed) const {
  *round_trip_failed = false;
  if (increments.empty()) {
    return {};
  }
  sdk::RedisPipeline pipeline = host_.RedisInstance(keys::kUnreadInstance).Pipeline();
  for (const Increment& inc : increments) {
    const std::string marker = CountedMarker(inc);
    if (inc.session_type == 1) {
      pipeline.Append({"EVAL", kAddSingleOnceScript, "2", marker, keys::UserUnread(inc.to),
                       keys::Num(inc.from), kCountedMarkerSeconds});
    } else {
      pipeline.Append({"EVAL", kAddGroupOnceScript, "3", marker, keys::GroupMsgCount(inc.to),
                       keys::UserGroupRead(inc.from, inc.to), kCountedMarkerSeconds});
    }
  }
  return Finish(pipeline, increments, round_trip_failed);
}

std::vector<sdk::Status> UnreadCounters::Finish(sdk::RedisPipeline& pipeline,
                                                const std::vector<Increment>& increments,
                                                bool* round_trip_failed) const {
  auto reply = pipeline.Exec();
  if (reply.ok() && reply->size() != increments.size()) {
    reply = sdk::Status(DBP_E_REDIS, sdk::StrCat("pipeline answered ", reply->size(), " of ",
                                                 increments.size(), " commands"));
  }
  if (!reply.ok()) {
    if (round_trip_failed != nullptr) {
      *round_trip_failed = true;
    }
    return std::vector<sdk::Status>(increments.size(), reply.status());
  }
  std::vector<sdk::Status> out(increments.size());
  for (size_t i = 0; i < increments.size(); ++i) {
    sdk::RedisValue v = (*reply)[i];
    if (v.is_error()) {
      out[i] = sdk::Status(
          DBP_E_REDIS,
          sdk::StrCat(increments[i].session_type == 1 ? "HINCRBY: " : "add group count: ",
                      v.str()));
    }
  }
  return out;
}

sdk::Status UnreadCounters::ClearSingle(uint32_t user_id, uint32_t peer_id) const {
  std::string key = keys::UserUnread(user_id);
  std::string field = keys::Num(peer_id);
  return Checked(host_.RedisInstance(keys::kUnreadInstance).Command({"HDEL", key, field}), "HDEL");
}

sdk::Status UnreadCounters::ClearGroup(uint32_t user_id, uint32_t group_id) const {
  std::string group_key = keys::GroupMsgCount(group_id);
  std::string user_key = keys::UserGroupRead(user_id, group_id);
  return Checked(host_.RedisInstance(keys::kUnreadInstance)
                     .Command({"EVAL", kClearGroupScript, "2", group_key, user_key}),
                 "clear group count");
}

std::vector<sdk::Result<UnreadCounters::Snapshot>> UnreadCounters::ReadMany(
    const std::vector<Query>& queries) const {
  sdk::RedisPipeline pipeline = host_.RedisInstance(keys::kUnreadInstance).Pipeline();
  size_t commands = 0;
  for (const Query& q : queries) {
    pipeline.Append({"HGETALL", keys::UserUnread(q.user_id)});
    for (uint32_t gid : q.group_ids) {
      pipeline.Append({"HGET", keys::GroupMsgCount(gid), keys::kCountField});
      pipeline.Append({"HGET", keys::UserGroupRead(q.user_id, gid), keys::kCountField});
    }
    commands += 1 + 2 * q.group_ids.size();
  }
  auto reply = pipeline.Exec();
  if (reply.ok() && reply->size() != commands) {
    reply = sdk::Status(DBP_E_REDIS, sdk::StrCat("pipeline answered ", reply->size(), " of ",
                                                 commands, " commands"));
  }
  if (!reply.ok()) {
    return std::vector<sdk::Result<Snapshot>>(queries.size(), reply.status());
  }
  std::vector<sdk::Result<Snapshot>> out;
  out.reserve(queries.size());
  size_t at = 0;
  for (const Query& q : queries) {
    out.push_back(ParseSnapshot(*reply, at, q.group_ids));
    at += 1 + 2 * q.group_ids.size();
  }
  return out;
}

sdk::Result<UnreadCounters::Snapshot> UnreadCounters::ParseSnapshot(
    const sdk::RedisReply& reply, size_t at, const std::vector<uint32_t>& group_ids) {
  Snapshot snap;
  sdk::RedisValue all = reply[at];
  if (all.is_error()) {
    return sdk::Status(DBP_E_REDIS, sdk::StrCat("HGETALL: ", all.str()));
  }
  for (size_t i = 0; i + 1 < all.size(); i += 2) {
    std::optional<int64_t> peer = ParseInt(all[i].str());
    std::optional<int64_t> count = ParseInt(all[i + 1].str());
    // Fields that are not user ids, and counts that are not positive, are not unread
    // conversations (TeamTalk would have listed them with a garbage count).
    if (!peer || *peer <= 0 || *peer > std::numeric_limits<uint32_t>::max() || !count ||
        *count <= 0) {
      continue;
    }
    snap.singles.push_back({static_cast<uint32_t>(*peer), ClampU32(*count)});
  }
  std::sort(snap.singles.begin(), snap.singles.end(),
            [](const SingleCount& a, const SingleCount& b) { return a.peer_id < b.peer_id; });

  for (size_t g = 0; g < group_ids.size(); ++g) {
    sdk::RedisValue total = reply[at + 1 + 2 * g];
    sdk::RedisValue read = reply[at + 2 + 2 * g];
    if (total.is_error() || read.is_error()) {
      return sdk::Status(DBP_E_REDIS,
                         sdk::StrCat("HGET: ", total.is_error() ? total.str() : read.str()));
    }
    // Computed afresh for every group: nothing carries over from the previous one (W13).
    std::optional<int64_t> t = ParseInt(total.str());
    if (!t) {
      continue;  // the group has no counter: nothing was ever counted
    }
    int64_t r = ParseInt(read.str()).value_or(0);
    if (*t > r) {
      snap.groups.push_back({group_ids[g], ClampU32(*t - r)});
    }
  }
  return snap;
}

}  // namespace dbproxy::plugins::unread
