#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dbproxy::plugins::login {

// Counts failed logins per user name and refuses a name that failed too often recently,
// like TeamTalk's limiter (spec H01 step 3) but in bounded memory (W5): at most max_names
// names are remembered, each with at most max_failures + 1 timestamps. When the table is
// full, names whose failures have all expired go first, then the name that failed least
// recently. Times are seconds on a monotonic clock chosen by the caller.
//
// Thread rule: any thread; every method takes the internal lock.
class LoginLimiter {
 public:
  struct Limits {
    uint32_t max_failures = 10;     // more than this within the window blocks the name
    int64_t window_seconds = 1800;  // how long a failure counts
    size_t max_names = 100000;      // names remembered at most
  };

  explicit LoginLimiter(Limits limits) : limits_(limits) {}
  LoginLimiter(const LoginLimiter&) = delete;
  LoginLimiter& operator=(const LoginLimiter&) = delete;

  // True if name has more than max_failures failures in [now - window, now].
  bool Blocked(std::string_view name, int64_t now);

  // Remembers a failed login of name at now.
  void RecordFailure(std::string_view name, int64_t now);

  // Forgets name's failures (a successful login).
  void Clear(std::string_view name);

  // Names currently remembered.
  size_t size() const;

 private:
  struct Entry {
    std::deque<int64_t> failures;                 // oldest first
    std::list<const std::string*>::iterator lru;  // position in lru_
  };
  using Map = std::unordered_map<std::string, Entry>;

  // Drops failures that left the window. REQUIRES: mu_ held.
  void Expire(Entry& e, int64_t now) const;
  // Forgets the entry at it. REQUIRES: mu_ held.
  void Erase(Map::iterator it);
  // Forgets names whose newest failure left the window, oldest first. REQUIRES: mu_ held.
  void EvictExpired(int64_t now);

  const Limits limits_;
  mutable std::mutex mu_;
  Map entries_;                        // guarded by mu_
  std::list<const std::string*> lru_;  // guarded by mu_; keys of entries_, least recent first
};

}  // namespace dbproxy::plugins::login
