#pragma once

// Wires the daemon together: event loop, listeners, connections, worker pool, MySQL and
// Redis pools, plugin host, admin endpoints and signals; runs until SIGTERM/SIGINT and
// then drains. Everything here runs on the loop thread except the reply queue, which
// workers feed.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <uv.h>

#include "core/admin/metrics.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/dispatch/worker_pool.h"
#include "core/loop/event_loop.h"
#include "core/net/connection.h"
#include "core/net/listener.h"
#include "core/plugin/host.h"
#include "core/plugin/host_services.h"

namespace dbproxy::admin {
class AdminServer;
}

namespace dbproxy {

class Server : public net::ConnectionOwner {
 public:
  struct Options {
    std::string ready_file;  // written once listening: "listen h:p", "metrics h:p", "admin path"
  };

  explicit Server(config::Config config, Options options);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts everything and runs the loop until shutdown completes. Returns the exit code.
  int Run();

  // ---- Used by the admin server (loop thread).
  plugin::ReloadResult ReloadFromFile(const std::string& force_module);
  std::string StatusJson() const;
  std::string ModulesJson() const;
  std::string RenderMetrics() const;
  // Appends the dbproxy_redis_master_* series (instances with sentinels only).
  void RenderRedisSentinelMetrics(std::string* out) const;
  admin::Metrics& metrics() { return metrics_; }
  const config::Config& config() const { return config_; }

  // net::ConnectionOwner
  bool OnFrame(net::Connection& conn, const net::FrameHeader& header,
               std::string_view body) override;
  void OnClosed(net::Connection& conn) override;

 private:
  Status StartPools();
  Status StartListeners();
  void WriteReadyFile();
  void OnAccept(uv_tcp_t* tcp);
  // Gives each listener the list server.allow means for it (see config.h); on a reload also
  // closes open connections whose peer the new list refuses. Returns how many it closed.
  size_t ApplyAllowList(const std::optional<std::vector<std::string>>& allow, bool at_startup);
  void OnRefused(const std::string& peer, const std::string& local);
  void QueueFrame(uint64_t conn_id, std::string frame);  // any thread
  // A request of conn_id finished (answered or not); any thread. Feeds the in-flight count.
  void RequestDone(uint64_t conn_id);
  void DrainReplies();
  void SweepConnections();
  void ResumePaused();
  void BeginShutdown(const char* why);
  void CheckDrained();
  void FinishShutdown();
  void StartSignal(int signum);

  config::Config config_;
  Options options_;
  loop::EventLoop loop_;
  admin::Metrics metrics_;
  std::map<std::string, std::unique_ptr<storage::MysqlPool>> mysql_;
  std::map<std::string, std::unique_ptr<storage::RedisPool>> redis_;
  std::map<std::string, std::unique_ptr<storage::ReplicaReads>> replica_reads_;  // by pool
  plugin::HostServices services_;
  std::unique_ptr<dispatch::WorkerPool> workers_;
  std::unique_ptr<plugin::Host> host_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<uint64_t, net::Connection*> connections_;
  std::unordered_set<uint64_t> paused_;
  // Requests per connection queued or running (entries only while non-zero), and the
  // connections paused for reaching server.max_inflight_per_connection.
  std::unordered_map<uint64_t, uint32_t> inflight_;
  std::unordered_set<uint64_t> capped_;
  uint64_t next_conn_id_ = 1;
  uint64_t start_ms_ = 0;

  // Replies from workers, drained on the loop thread.
  std::mutex reply_mu_;
  std::vector<std::pair<uint64_t, std::string>> replies_;  // guarded by reply_mu_
  std::vector<uint64_t> done_;                             // guarded by reply_mu_
  uv_async_t* reply_async_ = nullptr;
  uv_async_t* space_async_ = nullptr;  // worker queue has room again
  uv_timer_t* sweep_timer_ = nullptr;
  uv_timer_t* drain_timer_ = nullptr;
  std::vector<uv_signal_t*> signals_;
  bool shutting_down_ = false;
  uint64_t shutdown_deadline_ms_ = 0;
  uint64_t stop_notice_ms_ = 0;  // when the 0x0702 notices went out
  uint64_t unknown_log_window_ms_ = 0;
  uint32_t unknown_logged_in_window_ = 0;
  uint64_t refused_log_window_ms_ = 0;  // refused peers: a few log lines a minute, all counted
  uint32_t refused_logged_in_window_ = 0;
  uint64_t refused_unlogged_ = 0;
  int exit_code_ = 0;
};

}  // namespace dbproxy
