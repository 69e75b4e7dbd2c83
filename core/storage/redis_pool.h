#pragma once

// A named pool of hiredis connections ("unread", "group_member", ...): argv-style commands
// and pipelines, command timeouts, reconnect, bounded waits.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/base/status.h"
#include "core/config/config.h"
#include "dbproxy/abi.h"

namespace dbproxy::storage {

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
class RedisPool {
 public:
  struct Stats {
    uint32_t size = 0;      // connections open or being opened
    uint32_t in_use = 0;    // connections running a command
    uint64_t waits = 0;     // calls that found the pool exhausted and waited
    uint64_t timeouts = 0;  // calls that gave up after acquire_timeout_ms
    uint64_t errors = 0;    // failed connects and failed I/O (error replies not counted)
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

 private:
  struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

  explicit RedisPool(const config::RedisConfig& config);

  // Borrows a live connection (idle, new, or the first one released in time).
  [[nodiscard]] Result<ContextPtr> Acquire();
  // Takes a connection back; keeps it for reuse unless it failed or the pool is closed.
  void Release(ContextPtr context);
  // Opens, authenticates and selects the db; fails fast inside the retry window.
  [[nodiscard]] Result<ContextPtr> Connect();
  // The Status for a failed call on context (whose err is set), counted as an error.
  Status IoFailure(const redisContext& context, int saved_errno, const char* what);

  const config::RedisConfig config_;

  mutable std::mutex mu_;
  std::condition_variable released_;  // signalled when a connection or a slot frees up
  std::vector<ContextPtr> idle_;      // GUARDED_BY(mu_)
  uint32_t open_ = 0;                 // GUARDED_BY(mu_): connections open or being opened
  bool closed_ = false;               // GUARDED_BY(mu_)

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
