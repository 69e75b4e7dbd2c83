#include "plugins/login/login_limiter.h"

namespace dbproxy::plugins::login {

bool LoginLimiter::Blocked(std::string_view name, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(name));
  if (it == entries_.end()) {
    return false;
  }
  Expire(it->second, now);
  if (it->second.failures.empty()) {
    Erase(it);
    return false;
  }
  return it->second.failures.size() > limits_.max_failures;
}

void LoginLimiter::RecordFailure(std::string_view name, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  EvictExpired(now);
  auto it = entries_.find(std::string(name));
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_names && !lru_.empty()) {
      // Full of live names: forget the one that failed least recently.
      Erase(entries_.find(*lru_.front()));
    }
    it = entries_.emplace(std::string(name), Entry{}).first;
    it->second.lru = lru_.insert(lru_.end(), &it->first);
  } else {
    lru_.splice(lru_.end(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  Expire(e, now);
  e.failures.push_back(now);
  // One more than the limit is all Blocked() needs to know.
  while (e.failures.size() > static_cast<size_t>(limits_.max_failures) + 1) {
    e.failures.pop_front();
  }
}

void LoginLimiter::Clear(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(name));
  if (it != entries_.end()) {
    Erase(it);
  }
}

size_t LoginLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void LoginLimiter::Expire(Entry& e, int64_t now) const {
  while (!e.failures.empty() && e.failures.front() < now - limits_.window_seconds) {
    e.failures.pop_front();
  }
}

void LoginLimiter::Erase(Map::iterator it) {
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void LoginLimiter::EvictExpired(int64_t now) {
  // lru_ is ordered by newest failure, so the expired names are a prefix of it.
  while (!lru_.empty()) {
    auto it = entries_.find(*lru_.front());
    const std::deque<int64_t>& failures = it->second.failures;
    if (!failures.empty() && failures.back() >= now - limits_.window_seconds) {
      break;
    }
    Erase(it);
  }
}

}  // namespace dbproxy::plugins::login
