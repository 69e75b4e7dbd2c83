#pragma once

// Groups whose Redis member hash may be wrong: a member change committed in MySQL while
// Redis could neither be updated nor have the hash dropped (Redis down). The membership
// service drops and rebuilds such a hash on its next lookup, once Redis answers again.
// Process memory only: a restart forgets it (TeamTalk kept no such record at all).
// Any thread.

#include <cstdint>
#include <mutex>
#include <unordered_set>

namespace dbproxy::plugins::group_member {

class StaleGroups {
 public:
  void Add(uint32_t group_id) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_.insert(group_id);
  }
  bool Contains(uint32_t group_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    return groups_.count(group_id) != 0;
  }
  void Remove(uint32_t group_id) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_.erase(group_id);
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<uint32_t> groups_;  // guarded by mu_
};

}  // namespace dbproxy::plugins::group_member
