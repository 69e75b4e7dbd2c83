#pragma once

// A named pool of MariaDB connections ("teamtalk_master", "teamtalk_slave"): bounded size,
// bounded waits, lazy connects that fail fast while the server is down.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/storage/mysql_connection.h"

namespace dbproxy::storage {

// Thread rule: Acquire, Release, stats and Close may be called from any thread, at once.
// A connection, once acquired, belongs to its holder alone until Release. The pool must
// outlive every connection it lent; destroy it only after all were released.
//
// Connections are opened on demand, never at Create, so start-up does not depend on
// MySQL being up; the first failed connect of an outage logs a warning. The client library
// needs no per-thread set-up (MariaDB Connector/C), only InitMysqlLibrary() once, which
// Create calls.
class MysqlPool {
 public:
  struct Stats {
    uint32_t size = 0;      // connections open or being opened
    uint32_t in_use = 0;    // connections lent out
    uint64_t waits = 0;     // acquires that found the pool exhausted and waited
    uint64_t timeouts = 0;  // acquires that gave up after acquire_timeout_ms
    uint64_t errors = 0;    // failed connects and failed statements
  };

  // Builds an (unconnected) pool. The password is read from the environment variable named
  // by config.password_env when that is set and present, else config.password.
  // Returns the pool; DBP_E_CONFIG if pool_size is 0; DBP_E_INTERNAL if the client library
  // cannot initialise.
  [[nodiscard]] static Result<std::unique_ptr<MysqlPool>> Create(
      const config::MysqlPoolConfig& config);

  ~MysqlPool();
  MysqlPool(const MysqlPool&) = delete;
  MysqlPool& operator=(const MysqlPool&) = delete;

  // Lends a connection: an idle one, else a new one while fewer than pool_size exist, else
  // the first one released within acquire_timeout_ms. A lent connection may have lost its
  // session while idle; its next Execute reconnects.
  // Returns the connection; DBP_E_TIMEOUT (pool exhausted for acquire_timeout_ms);
  // DBP_E_UNAVAILABLE (connect failed, or failed less than kConnectRetryDelayMs ago, or
  // the pool is closed).
  // Ownership: lent until Release(); the pool keeps owning it.
  [[nodiscard]] Result<MysqlConnection*> Acquire();

  // Takes a lent connection back: rolls back an open transaction and drops the connection
  // if its session is lost or the pool is closed. conn may be nullptr (no-op).
  // REQUIRES: conn came from this pool's Acquire and was not released since.
  void Release(MysqlConnection* conn);

  Stats stats() const;
  const std::string& name() const { return config_.name; }
  const config::MysqlPoolConfig& config() const { return config_; }

  // Makes every connection of this pool report the GTID of each commit it makes into
  // commits() (for replica pools that read consistently with this one). Idempotent.
  // REQUIRES: called before the pool is shared with other threads (at start-up).
  void TrackCommits();
  // The highest commit GTIDs seen, or nullptr unless TrackCommits() was called. Lives as
  // long as the pool; any thread.
  GtidPosition* commits() { return commits_.get(); }
  // True once a server of this pool refused to report GTIDs: commits() is then incomplete.
  bool commits_untracked() const { return shared_.gtid_untracked.load(std::memory_order_relaxed); }

  // Closes idle connections and refuses further Acquires; connections still lent are
  // closed as they come back. For shutdown. Safe to call twice.
  void Close();

 private:
  MysqlPool(const config::MysqlPoolConfig& config, std::string password);

  const config::MysqlPoolConfig config_;
  const std::string password_;
  std::unique_ptr<GtidPosition> commits_;  // set by TrackCommits; shared_.commits points here
  MysqlPoolShared shared_;                 // read by the connections without mu_ (atomics)

  mutable std::mutex mu_;
  std::condition_variable released_;  // signalled when a connection or a slot frees up
  std::vector<std::unique_ptr<MysqlConnection>> connections_;  // GUARDED_BY(mu_): all open
  std::vector<MysqlConnection*> idle_;                         // GUARDED_BY(mu_)
  uint32_t connecting_ = 0;  // GUARDED_BY(mu_): slots reserved by connects in progress
  bool closed_ = false;      // GUARDED_BY(mu_)

  // Written under mu_ (size_, in_use_) or anywhere (the rest); read by stats() without
  // the lock. Each is an independent counter, so relaxed ordering is enough.
  std::atomic<uint32_t> size_{0};
  std::atomic<uint32_t> in_use_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
};

}  // namespace dbproxy::storage
