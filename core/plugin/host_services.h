#pragma once

// What the host API functions reach in the core: pools, metrics and the reply path.
// Filled by the Server once at start-up; read-only afterwards, so any thread may read it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace dbproxy::storage {
class MysqlPool;
class RedisPool;
class ReplicaReads;
}  // namespace dbproxy::storage

namespace dbproxy::admin {
class Metrics;
}

namespace dbproxy::plugin {

struct HostServices {
  std::map<std::string, std::unique_ptr<storage::MysqlPool>>* mysql = nullptr;
  std::map<std::string, std::unique_ptr<storage::RedisPool>>* redis = nullptr;
  // Pools with read_your_writes, by pool name: their Acquire replaces the pool's.
  std::map<std::string, std::unique_ptr<storage::ReplicaReads>>* replica_reads = nullptr;
  admin::Metrics* metrics = nullptr;
  // Queues a whole frame for the connection; drops it if the connection is gone. Any thread.
  std::function<void(uint64_t conn_id, std::string frame)> send_frame;
  uint32_t max_frame_bytes = 1024 * 1024;
};

}  // namespace dbproxy::plugin
