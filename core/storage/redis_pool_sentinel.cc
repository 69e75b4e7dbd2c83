// The part of RedisPool that follows the master through Redis Sentinel (see redis_pool.h):
// asking the sentinels, switching, the watcher thread and the failover fence.

#include <chrono>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/storage/clock.h"
#include "core/storage/redis_pool.h"
#include "core/storage/sentinel_resolver.h"

namespace dbproxy::storage {

bool RedisPool::RetryOnNewMaster(uint64_t epoch_at_start) {
  if (resolver_ == nullptr) {
    return false;
  }
  Resolve("a call failed before it ran");
  std::lock_guard<std::mutex> lock(mu_);
  return !closed_ && !stale_ && master_.has_value() && epoch_ != epoch_at_start;
}

Result<std::pair<config::RedisAddress, uint64_t>> RedisPool::Target() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (master_ && !stale_) {
      return std::make_pair(*master_, epoch_);
    }
  }
  Resolve("the master is unknown or in doubt");
  std::lock_guard<std::mutex> lock(mu_);
  if (!master_) {
    return Status::Unavailable("redis '" + name() + "': no sentinel named a master for '" +
                               config_.master_name + "' yet");
  }
  return std::make_pair(*master_, epoch_);
}

void RedisPool::MarkStale(uint64_t epoch, const char* reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch == epoch_ && !stale_) {
    stale_ = true;
    stale_reason_ = reason;
    watch_wake_.notify_one();
  }
}

void RedisPool::Resolve(const char* reason) {
  std::lock_guard<std::mutex> resolving(resolve_mu_);
  const int64_t now = SteadyNowMs();
  if (now - last_resolve_ms_ < kMinResolveGapMs) {
    return;  // someone just asked; their answer stands
  }
  last_resolve_ms_ = now;
  auto logger = log::Get("storage.redis");
  std::optional<config::RedisAddress> current;
  bool stale = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = master_;
    stale = stale_;
  }
  std::optional<config::RedisAddress> reject;
  std::string failure;
  for (size_t attempt = 0; attempt <= config_.sentinels.size(); ++attempt) {
    Result<config::RedisAddress> answer = resolver_->Resolve(reject);
    if (!answer.ok()) {
      failure = answer.status().message();
      break;
    }
    const bool same = current && current->host == answer->host && current->port == answer->port;
    if (same && !stale) {
      failure.clear();  // nothing changed and nothing is in doubt: no need to probe it
      reject.reset();
      break;
    }
    // A new address, or the old one in doubt: ask the server itself before trusting it.
    const Status role = SentinelResolver::ProbeMaster(config_, *answer);
    if (!role.ok()) {
      failure = SentinelResolver::ToString(*answer) + ": " + role.message();
      reject = *answer;  // ask the others whether they know better
      continue;
    }
    // A usable master: switch to it (or confirm the current one).
    std::vector<Conn> doomed;
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      first = !master_.has_value();
      stale_ = false;
      if (!same) {
        master_ = *answer;
        ++epoch_;
        fenced_until_ms_ = 0;
        open_ -= static_cast<uint32_t>(idle_.size());
        size_.fetch_sub(static_cast<uint32_t>(idle_.size()), std::memory_order_relaxed);
        doomed = std::move(idle_);
        idle_.clear();
      }
    }
    if (!same) {
      connect_blocked_until_ms_.store(0, std::memory_order_relaxed);  // a new server
      released_.notify_all();
      if (first) {
        logger->info("instance {}: master of '{}' is {} (sentinels)", name(), config_.master_name,
                     SentinelResolver::ToString(*answer));
      } else {
        master_switches_.fetch_add(1, std::memory_order_relaxed);
        logger->warn(
            "instance {}: master of '{}' moved from {} to {} ({}); {} idle connections to the "
            "old master closed, busy ones close when their call ends",
            name(), config_.master_name, SentinelResolver::ToString(*current),
            SentinelResolver::ToString(*answer), reason, doomed.size());
      }
    }
    failure.clear();
    break;
  }
  if (!failure.empty()) {
    resolve_failures_.fetch_add(1, std::memory_order_relaxed);
    logger->log(resolve_failing_ ? spdlog::level::debug : spdlog::level::warn,
                "instance {}: cannot find the master of '{}' ({}): {}", name(), config_.master_name,
                reason, failure);
    resolve_failing_ = true;
  } else {
    resolve_failing_ = false;
  }
}

void RedisPool::OnSentinelEvent(SentinelEvent event, const std::string& text) {
  auto logger = log::Get("storage.redis");
  std::lock_guard<std::mutex> lock(mu_);
  switch (event) {
    case SentinelEvent::kFailoverStarting:
      if (fenced_until_ms_ == 0 || SteadyNowMs() >= fenced_until_ms_) {
        logger->warn(
            "instance {}: a failover of '{}' is starting ({}); calls fail until the new master "
            "is known (at most {} ms)",
            name(), config_.master_name, text, kFenceMs);
      }
      fenced_until_ms_ = SteadyNowMs() + kFenceMs;
      break;
    case SentinelEvent::kAborted:
      fenced_until_ms_ = 0;
      [[fallthrough]];
    case SentinelEvent::kPromoted:
    case SentinelEvent::kSwitched:
      // Ask the sentinels now rather than at the next poll.
      if (!stale_) {
        stale_ = true;
        stale_reason_ = "a sentinel event";
      }
      watch_wake_.notify_one();
      break;
  }
}

void RedisPool::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  bool first = true;
  while (!closed_) {
    if (!first) {
      watch_wake_.wait_for(lock, std::chrono::milliseconds(config_.sentinel_poll_ms),
                           [this] { return closed_ || stale_; });
    }
    first = false;
    if (closed_) {
      break;
    }
    const char* reason = stale_ ? stale_reason_ : "periodic check";
    lock.unlock();
    Resolve(reason);
    lock.lock();
    if (stale_ && !closed_) {
      // Still in doubt (no sentinel knows better yet): ask again soon, not in a busy loop.
      watch_wake_.wait_for(lock, std::chrono::milliseconds(kMinResolveGapMs),
                           [this] { return closed_; });
    }
  }
}

}  // namespace dbproxy::storage
