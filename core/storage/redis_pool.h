#pragma once

// A named pool of hiredis connections ("unread", "group_member", ...): argv-style commands
// and pipelines, command timeouts, reconnect, bounded waits.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/storage/sentinel_events.h"
#include "dbproxy/abi.h"

namespace dbproxy::storage {

class SentinelResolver;

// One reply, copied out of hiredis. Plain value tree; any thread, one owner.
struct RedisReply {
  int type = DBP_REDIS_NIL;                           // DBP_REDIS_*
  long long integer = 0;                              // INTEGER
  std::string str;                                    // STRING, STATUS, ERROR (binary-safe)
  std::vector<std::unique_ptr<RedisReply>> elements;  // ARRAY
};
using RedisReplyPtr = std::unique_ptr<RedisReply>;

// Thread rule: every method may be called from any thread, concurrently; each call borrows
// one connection for its duration. Destroy the pool only when no call is running.
//
// Connections are opened on demand (never at Create, so start-up does not depend on Redis),
// then AUTH (username and password for an ACL user, else the password if one is set) and
// SELECT db. A connection that fails I/O is closed
// and replaced on a later call; one the server closed while idle is replaced before use.
// Requires SIGPIPE to be ignored (hiredis writes with write(2)); dbproxyd's main does.
//
// With sentinels configured the pool follows the master (sentinel_resolver.h; the code is in
// redis_pool_sentinel.cc): it asks the sentinels before the first connect, checks every new
// connection with ROLE, asks again every sentinel_poll_ms (a background thread) and at once
// after a lost connection, a refused connect, a ROLE that is not master, a READONLY /
// MASTERDOWN / LOADING reply, or a sentinel event. It listens to every sentinel's failover
// events (sentinel_events.h): from +try-failover (two sentinel ticks before a replica is
// promoted) until the pool has switched (or the failover was aborted; at most kFenceMs)
// calls fail at once with DBP_E_UNAVAILABLE, so that no write lands on the old master after
// its replica stopped following it (such writes would be lost). When the master moves, idle
// connections to the old one are closed and busy ones are closed when their call ends. A call
// that failed before anything of it ran (connect refused; every reply a READONLY /
// MASTERDOWN / LOADING error) is retried once on the new master.
class RedisPool {
 public:
  struct Stats {
    uint32_t size = 0;      // connections open or being opened
    uint32_t in_use = 0;    // connections running a command
    uint64_t waits = 0;     // calls that found the pool exhausted and waited
    uint64_t timeouts = 0;  // calls that gave up after acquire_timeout_ms
    uint64_t errors = 0;    // failed connects and failed I/O (error replies not counted)
    // Sentinel only:
    uint64_t master_switches = 0;   // the master address changed (not the first discovery)
    uint64_t resolve_failures = 0;  // asking the sentinels gave no usable master
    std::string master;             // host:port in use, "" while unknown or without sentinels
  };

  // After a failed connect, connects fail at once for this long, so that callers do not
  // each wait the connect timeout while Redis is known to be down.
  static constexpr int64_t kConnectRetryDelayMs = 250;

  // Builds an (unconnected) pool.
  // Returns the pool; DBP_E_CONFIG if pool_size is 0.
  [[nodiscard]] static Result<std::unique_ptr<RedisPool>> Create(const config::RedisConfig& config);

  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs one command given as argv[0, argc) with lengths argvlen (binary-safe).
  // Returns the reply (a Redis error reply is a success with type DBP_REDIS_ERROR);
  // DBP_E_INVALID (argc < 1); DBP_E_TIMEOUT (no free connection within acquire_timeout_ms,
  // or no reply within command_timeout_ms); DBP_E_UNAVAILABLE (cannot connect, connection
  // lost, pool closed). After a timeout or lost connection the command may have run.
  [[nodiscard]] Result<RedisReplyPtr> Command(int argc, const char* const* argv,
                                              const size_t* argvlen);

  // Sends every command in one write, then reads their replies in order.
  // Returns one ARRAY reply whose element i is the reply of cmds[i]; errors as Command
  // (DBP_E_INVALID also for an empty command). On I/O failure none of the replies is
  // returned, although some commands may have run.
  [[nodiscard]] Result<RedisReplyPtr> Pipeline(const std::vector<std::vector<std::string>>& cmds);

  Stats stats() const;
  const std::string& name() const { return config_.name; }

  // Closes idle connections and refuses further calls; busy connections close when their
  // call ends. For shutdown. Safe to call twice.
  void Close();

  // True for the error replies after which the pool asks the sentinels again: the server
  // is a replica (READONLY), has lost its master (MASTERDOWN) or is loading (LOADING).
  static bool IsFailoverError(const RedisReply& reply);

 private:
  struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
  // A connection and the master epoch it was opened in.
  struct Conn {
    ContextPtr context;
    uint64_t epoch = 0;
    bool failed = false;  // never reuse (I/O error, or it answered as a non-master)
  };
  // How a call went, for the retry decision.
  enum class Ran { kNothing, kSomething };

  explicit RedisPool(const config::RedisConfig& config);

  // Borrows a live connection (idle, new, or the first one released in time).
  [[nodiscard]] Result<Conn> Acquire();
  // Takes a connection back; keeps it for reuse unless it failed, belongs to an older
  // master epoch, or the pool is closed.
  void Release(Conn conn);
  // Opens, authenticates, checks ROLE (sentinel mode) and selects the db; fails fast inside
  // the retry window.
  [[nodiscard]] Result<Conn> Connect();
  // The Status for a failed call on context (whose err is set), counted as an error.
  Status IoFailure(const redisContext& context, int saved_errno, const char* what);

  // One attempt of Command/Pipeline; *ran says whether anything may have run on the server.
  Result<RedisReplyPtr> CommandOnce(int argc, const char* const* argv, const size_t* argvlen,
                                    Ran* ran);
  Result<RedisReplyPtr> PipelineOnce(const std::vector<std::vector<std::string>>& cmds, Ran* ran);
  // Sentinel mode: whether a call that ran nothing should run again because the master
  // changed since it started (asking the sentinels now if needed).
  bool RetryOnNewMaster(uint64_t epoch_at_start);

  // Sentinel mode. The master to connect to and its epoch; asks the sentinels first if the
  // master is unknown or marked stale.
  [[nodiscard]] Result<std::pair<config::RedisAddress, uint64_t>> Target();
  // Asks the sentinels (one resolution at a time) unless one finished after `seen_epoch`
  // changed or less than kMinResolveGapMs ago. Switches the master if it moved.
  void Resolve(const char* reason);
  // Marks the master of `epoch` doubtful; the next Target() or the watcher asks again.
  void MarkStale(uint64_t epoch, const char* reason);
  // The watcher thread: Resolve() every sentinel_poll_ms, or at once when marked stale.
  void Watch();
  // A sentinel's failover event (sentinel_events.h), on the listener thread.
  void OnSentinelEvent(SentinelEvent event, const std::string& text);

  const config::RedisConfig config_;

  mutable std::mutex mu_;
  std::condition_variable released_;  // signalled when a connection or a slot frees up
  std::vector<Conn> idle_;            // GUARDED_BY(mu_)
  uint32_t open_ = 0;                 // GUARDED_BY(mu_): connections open or being opened
  bool closed_ = false;               // GUARDED_BY(mu_)

  // Sentinel mode (resolver_ set).
  static constexpr int64_t kMinResolveGapMs = 100;
  std::unique_ptr<SentinelResolver> resolver_;
  std::mutex resolve_mu_;                       // held while asking the sentinels; before mu_
  std::optional<config::RedisAddress> master_;  // GUARDED_BY(mu_)
  uint64_t epoch_ = 1;                          // GUARDED_BY(mu_): grows at every switch
  bool stale_ = false;                          // GUARDED_BY(mu_)
  const char* stale_reason_ = "";               // GUARDED_BY(mu_)
  int64_t last_resolve_ms_ = 0;                 // GUARDED_BY(resolve_mu_)
  bool resolve_failing_ = false;                // GUARDED_BY(resolve_mu_): warn once per streak
  std::condition_variable watch_wake_;          // with mu_: stale_ set or closed_
  std::thread watcher_;
  // From a failover's start (a replica selected) until the switch, the old master may still
  // take writes that the promoted replica never sees: calls fail at once instead (as if
  // Redis were down), for at most kFenceMs.
  static constexpr int64_t kFenceMs = 5000;
  int64_t fenced_until_ms_ = 0;                    // GUARDED_BY(mu_): steady clock
  std::unique_ptr<SentinelEventListener> events_;  // after the state it calls into
  std::atomic<uint64_t> master_switches_{0};
  std::atomic<uint64_t> resolve_failures_{0};

  // Fail-fast window and outage logging, shared by concurrent connects (atomics).
  std::atomic<int64_t> connect_blocked_until_ms_{0};  // steady clock
  std::atomic<bool> server_down_{false};

  // Independent counters read by stats() without the lock; relaxed ordering is enough.
  std::atomic<uint32_t> size_{0};
  std::atomic<uint32_t> in_use_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace dbproxy::storage
