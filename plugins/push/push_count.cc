#include "plugins/push/push_count.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins::push {
namespace {

constexpr size_t kIdsPerStatement = 1024;
constexpr size_t kCommandsPerPipeline = 2000;

// A counter value; 0 for missing, negative or garbage values.
uint64_t CountOf(std::string_view text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && ptr == text.data() + text.size() && v > 0 ? static_cast<uint64_t>(v)
                                                                        : 0;
}

// Runs commands in pipelines of kCommandsPerPipeline; calls on_reply(i, value) per command.
// False if any pipeline failed (its commands get no callback).
template <typename OnReply>
bool RunPipelined(const sdk::Redis& redis, const std::vector<std::vector<std::string>>& commands,
                  OnReply on_reply) {
  bool ok = true;
  for (size_t at = 0; at < commands.size(); at += kCommandsPerPipeline) {
    size_t end = std::min(commands.size(), at + kCommandsPerPipeline);
    sdk::RedisPipeline pipeline = redis.Pipeline();
    for (size_t i = at; i < end; ++i) {
      pipeline.Append(commands[i]);
    }
    auto replies = pipeline.Exec();
    if (!replies.ok() || replies->size() != end - at) {
      ok = false;
      continue;
    }
    for (size_t i = at; i < end; ++i) {
      sdk::RedisValue v = (*replies)[i - at];
      if (v.is_error()) {
        ok = false;
        continue;
      }
      on_reply(i, v);
    }
  }
  return ok;
}

// (user, group) pairs of active memberships. False on a storage error.
bool LoadMemberships(const sdk::Host& host, const std::vector<uint32_t>& users,
                     std::vector<std::pair<uint32_t, uint32_t>>* out) {
  auto conn = host.Mysql(keys::kSlavePool);
  if (!conn.ok()) {
    host.Warn("push count: ", conn.status().message());
    return false;
  }
  for (size_t at = 0; at < users.size(); at += kIdsPerStatement) {
    std::vector<uint32_t> chunk(
        users.begin() + static_cast<ptrdiff_t>(at),
        users.begin() + static_cast<ptrdiff_t>(std::min(users.size(), at + kIdsPerStatement)));
    std::vector<sdk::Param> params;
    sql::AppendPadded(&params, chunk);
    std::string sql = "SELECT DISTINCT userId, groupId FROM IMGroupMember WHERE userId IN " +
                      sql::InList(chunk.size()) + " AND status = 0";
    auto rows = conn->ExecuteSpan(sql, params.data(), params.size());
    if (!rows.ok()) {
      host.Warn("push count: ", rows.status().message());
      return false;
    }
    for (size_t i = 0; i < rows->rows(); ++i) {
      out->emplace_back(static_cast<uint32_t>(rows->Uint(i, 0)),
                        static_cast<uint32_t>(rows->Uint(i, 1)));
    }
  }
  return true;
}

}  // namespace

PushCounts CountUnread(const sdk::Host& host, const std::vector<uint32_t>& users) {
  PushCounts result;
  if (users.empty()) {
    return result;
  }
  std::vector<std::pair<uint32_t, uint32_t>> memberships;
  if (!LoadMemberships(host, users, &memberships)) {
    result.degraded = true;
    memberships.clear();
  }
  std::vector<uint32_t> groups;
  for (const auto& m : memberships) {
    groups.push_back(m.second);
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());

  // Command order: HVALS per user, HGET per group, HGET per membership.
  std::vector<std::vector<std::string>> commands;
  commands.reserve(users.size() + groups.size() + memberships.size());
  for (uint32_t u : users) {
    commands.push_back({"HVALS", keys::UserUnread(u)});
  }
  for (uint32_t g : groups) {
    commands.push_back({"HGET", keys::GroupMsgCount(g), keys::kCountField});
  }
  for (const auto& [u, g] : memberships) {
    commands.push_back({"HGET", keys::UserGroupRead(u, g), keys::kCountField});
  }

  std::unordered_map<uint32_t, uint64_t> totals;
  std::unordered_map<uint32_t, uint64_t> group_count;
  const size_t group_base = users.size();
  const size_t member_base = group_base + groups.size();
  std::vector<uint64_t> read_marker(memberships.size(), 0);
  bool ok = RunPipelined(host.RedisInstance(keys::kUnreadInstance), commands,
                         [&](size_t i, const sdk::RedisValue& v) {
                           if (i < group_base) {
                             uint64_t sum = 0;
                             for (size_t k = 0; k < v.size(); ++k) {
                               sum += CountOf(v[k].str());
                             }
                             totals[users[i]] += sum;
                           } else if (i < member_base) {
                             if (v.is_string()) {
                               group_count[groups[i - group_base]] = CountOf(v.str());
                             }
                           } else {
                             read_marker[i - member_base] = CountOf(v.str());
                           }
                         });
  if (!ok) {
    result.degraded = true;
  }
  for (size_t i = 0; i < memberships.size(); ++i) {
    auto g = group_count.find(memberships[i].second);
    if (g != group_count.end() && g->second > read_marker[i]) {
      totals[memberships[i].first] += g->second - read_marker[i];
    }
  }
  for (const auto& [u, n] : totals) {
    if (n > 0) {
      result.by_user[u] = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
    }
  }
  return result;
}

}  // namespace dbproxy::plugins::push
