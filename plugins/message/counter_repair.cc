#include "plugins/message/counter_repair.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/common/key_format.h"
#include "plugins/message/message_batch_store.h"
#include "plugins/message/message_id_allocator.h"

namespace dbproxy::plugins::message {
namespace {

// The id after prefix in key, or 0 if key is not prefix followed by a decimal uint32.
uint32_t IdAfter(std::string_view key, std::string_view prefix) {
  if (key.substr(0, prefix.size()) != prefix) {
    return 0;
  }
  uint32_t id = 0;
  const char* begin = key.data() + prefix.size();
  const char* end = key.data() + key.size();
  auto [ptr, ec] = std::from_chars(begin, end, id);
  return ec == std::errc() && ptr == end ? id : 0;
}

// The stored maxima of the relations and groups; false if MySQL fails.
bool ReadMaxima(sdk::MysqlConn& conn, const std::vector<uint32_t>& relations,
                const std::vector<uint32_t>& groups,
                std::unordered_map<uint32_t, uint64_t>* relation_max,
                std::unordered_map<uint32_t, uint64_t>* group_max) {
  if (!relations.empty()) {
    sdk::Result<std::unordered_map<uint32_t, uint64_t>> r =
        store::MaxRelationMsgIds(conn, relations);
    if (!r.ok()) {
      return false;
    }
    relation_max->swap(*r);
  }
  if (!groups.empty()) {
    sdk::Result<std::unordered_map<uint32_t, uint64_t>> r = store::MaxGroupMsgIds(conn, groups);
    if (!r.ok()) {
      return false;
    }
    group_max->swap(*r);
  }
  return true;
}

}  // namespace

void RepairOwedCounters(const sdk::Host& host) {
  MessageIdCounters counters(host);
  const auto owed = counters.Owed();
  if (owed.empty()) {
    return;
  }
  std::vector<uint32_t> relations;
  std::vector<uint32_t> groups;
  for (const auto& [key, id] : owed) {
    if (uint32_t gid = IdAfter(key, "group_msg_id_"); gid != 0) {
      groups.push_back(gid);
    } else if (uint32_t rid = IdAfter(key, "msg_id_"); rid != 0) {
      relations.push_back(rid);
    }
  }
  for (auto* ids : {&relations, &groups}) {
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
  }
  sdk::Result<sdk::MysqlConn> conn = host.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return;  // the next tick tries again
  }
  std::unordered_map<uint32_t, uint64_t> relation_max;
  std::unordered_map<uint32_t, uint64_t> group_max;
  if (!ReadMaxima(*conn, relations, groups, &relation_max, &group_max)) {
    return;  // the next tick tries again
  }
  conn->Release();
  std::vector<std::string> keys_out;
  std::vector<uint32_t> ids_out;
  for (const auto& [max, make] :
       {std::pair(&relation_max, &keys::RelationMsgId), std::pair(&group_max, &keys::GroupMsgId)}) {
    for (const auto& [id, highest] : *max) {
      if (highest != 0) {
        keys_out.push_back(make(id));
        ids_out.push_back(static_cast<uint32_t>(highest));
      }
    }
  }
  const size_t raised = counters.RaiseOwed(keys_out, ids_out);
  if (raised != 0) {
    host.Warn("raised ", raised, " msgId counters that a process left behind its stored ",
              "messages (it stopped between COMMIT and raising them)");
    host.Count("msg_id_counters_repaired", static_cast<int64_t>(raised));
  }
}

}  // namespace dbproxy::plugins::message
