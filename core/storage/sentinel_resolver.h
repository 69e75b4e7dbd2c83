#pragma once

// Finds the master of a Redis instance through Redis Sentinel, for RedisPool.
//
// A sentinel is asked `SENTINEL get-master-addr-by-name <master_name>` (after AUTH with the
// sentinel credentials, if any). Sentinels are tried in turn, starting with the one that
// answered last, each with sentinel_timeout_ms for connect and reply, so one dead sentinel
// costs at most that long. A sentinel's answer is only its opinion: during a failover the
// sentinels disagree for a moment, so the caller checks the answer with ROLE on the server
// itself (IsMaster) and asks again, rejecting that address, when it is not a master.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <hiredis/hiredis.h>

#include "core/base/status.h"
#include "core/config/config.h"

namespace dbproxy::storage {

// Thread rule: one caller at a time (RedisPool serializes resolutions).
class SentinelResolver {
 public:
  // REQUIRES: config.sentinels is not empty and config.master_name is set (the loader
  // checks both). Connects to nothing yet.
  explicit SentinelResolver(const config::RedisConfig& config);
  ~SentinelResolver();
  SentinelResolver(const SentinelResolver&) = delete;
  SentinelResolver& operator=(const SentinelResolver&) = delete;

  // The master address reported by the first sentinel that answers with one other than
  // reject (if given).
  // Returns DBP_E_UNAVAILABLE naming each sentinel's failure (unreachable, error reply, the
  // master name unknown to it, or only the rejected address) if none does.
  [[nodiscard]] Result<config::RedisAddress> Resolve(
      const std::optional<config::RedisAddress>& reject = std::nullopt);

  // Asks the server behind context `ROLE`.
  // Returns Ok if it is a master; DBP_E_UNAVAILABLE with its role (e.g. "slave") or the I/O
  // error otherwise.
  [[nodiscard]] static Status IsMaster(redisContext& context);

  // Connects to a data server as the pool would (connect_timeout_ms, command_timeout_ms,
  // username/password) and asks IsMaster. Returns as IsMaster; DBP_E_UNAVAILABLE if it cannot
  // connect.
  [[nodiscard]] static Status ProbeMaster(const config::RedisConfig& config,
                                          const config::RedisAddress& server);

  static std::string ToString(const config::RedisAddress& address);

  struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

  // A connection to one sentinel of config, authenticated if config says so, with
  // sentinel_timeout_ms for connect and replies. Returns DBP_E_UNAVAILABLE on any failure.
  [[nodiscard]] static Result<ContextPtr> OpenSentinel(const config::RedisConfig& config,
                                                       const config::RedisAddress& sentinel);

 private:
  // One sentinel's answer, or why there is none.
  Result<config::RedisAddress> Ask(size_t index);

  const config::RedisConfig config_;
  size_t preferred_ = 0;   // the sentinel to ask first: the last one that answered
  ContextPtr connection_;  // kept open to sentinels_[preferred_] between resolutions
};

}  // namespace dbproxy::storage
