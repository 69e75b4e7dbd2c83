#pragma once

// Listens to the failover events every configured sentinel publishes for one master name,
// for RedisPool: a failover is seen as it starts (a replica is selected, before it is
// promoted, a sentinel tick before it is) rather than only once the sentinels name the new master.
//
// One subscriber connection per sentinel (SUBSCRIBE on the event channels, sentinel
// credentials as in sentinel_resolver.h), read by one thread with poll(); a lost sentinel is
// reconnected about once a second. Events of other master names are ignored.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "core/config/config.h"

namespace dbproxy::storage {

enum class SentinelEvent {
  // +try-failover, +failover-state-select-slave (at least one sentinel tick, 50-100 ms,
  // before the replica is told to become master), +selected-slave,
  // +failover-state-send-slaveof-noone
  kFailoverStarting,
  kPromoted,  // +promoted-slave: the sentinel now names the new master
  kSwitched,  // +switch-master, +failover-end, +failover-end-for-timeout
  kAborted,   // -failover-abort-*: the old master stays
};

// Thread rule: construct and destroy from one thread; on_event runs on the listener's own
// thread, one event at a time, and must not block for long.
class SentinelEventListener {
 public:
  using Callback = std::function<void(SentinelEvent event, const std::string& text)>;

  // Starts listening at once. REQUIRES: config.sentinels not empty, master_name set.
  SentinelEventListener(const config::RedisConfig& config, Callback on_event);
  // Stops the thread (within ~200 ms) and closes the connections.
  ~SentinelEventListener();
  SentinelEventListener(const SentinelEventListener&) = delete;
  SentinelEventListener& operator=(const SentinelEventListener&) = delete;

  // The event a sentinel message means for master_name, if any (for the listener and tests).
  // channel is the event name, text the message as Sentinel formats it.
  static bool Classify(const std::string& master_name, const std::string& channel,
                       const std::string& text, SentinelEvent* event);

 private:
  void Run();

  const config::RedisConfig config_;
  const Callback on_event_;
  std::atomic<bool> stop_{false};  // relaxed: only ends the loop
  std::thread thread_;
};

}  // namespace dbproxy::storage
