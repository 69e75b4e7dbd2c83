#include "core/storage/mysql_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "core/base/log.h"

namespace dbproxy::storage {

Result<std::unique_ptr<MysqlPool>> MysqlPool::Create(const config::MysqlPoolConfig& config) {
  if (config.pool_size == 0) {
    return Status(DBP_E_CONFIG, "mysql pool '" + config.name + "': pool_size must be > 0");
  }
  Status init = InitMysqlLibrary();
  if (!init.ok()) {
    return init;
  }
  std::string password = config.password;
  if (!config.password_env.empty()) {
    // getenv is safe here: Create runs at start-up or reload, not beside setenv calls.
    if (const char* from_env = std::getenv(config.password_env.c_str())) {
      password = from_env;
    } else {
      log::Get("storage.mysql")
          ->warn("pool {}: password_env {} is not set; using the password from the config",
                 config.name, config.password_env);
    }
  }
  return std::unique_ptr<MysqlPool>(new MysqlPool(config, std::move(password)));
}

MysqlPool::MysqlPool(const config::MysqlPoolConfig& config, std::string password)
    : config_(config), password_(std::move(password)) {
  shared_.pool_name = config_.name;
}

MysqlPool::~MysqlPool() {
  Close();
  std::lock_guard<std::mutex> lock(mu_);
  if (!connections_.empty()) {
    // A holder still has a pointer: leaking beats a use-after-free at shutdown.
    log::Get("storage.mysql")
        ->error("pool {}: destroyed with {} connections still lent; leaking them", name(),
                connections_.size());
    for (auto& conn : connections_) {
      (void)conn.release();  // deliberate leak, see above
    }
  }
}

Result<MysqlConnection*> MysqlPool::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquire_timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  bool counted_wait = false;
  for (;;) {
    if (closed_) {
      return Status::Unavailable("mysql pool '" + name() + "' is closed");
    }
    if (!idle_.empty()) {
      MysqlConnection* conn = idle_.back();  // most recently used: its session is warmest
      idle_.pop_back();
      in_use_.fetch_add(1, std::memory_order_relaxed);
      return conn;
    }
    if (connections_.size() + connecting_ < config_.pool_size) {
      // Connect without the lock: it can take the whole connect timeout.
      ++connecting_;
      size_.fetch_add(1, std::memory_order_relaxed);
      in_use_.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      auto conn = std::make_unique<MysqlConnection>(config_, password_, &shared_);
      Status connected = conn->Connect();
      lock.lock();
      --connecting_;
      if (!connected.ok()) {
        size_.fetch_sub(1, std::memory_order_relaxed);
        in_use_.fetch_sub(1, std::memory_order_relaxed);
        // A waiter may use the freed slot; it fails fast while the server is down.
        released_.notify_one();
        return Status::Unavailable("mysql pool '" + name() + "': " + connected.message());
      }
      MysqlConnection* raw = conn.get();
      connections_.push_back(std::move(conn));
      return raw;
    }
    if (!counted_wait) {
      counted_wait = true;
      waits_.fetch_add(1, std::memory_order_relaxed);
    }
    const bool woken = released_.wait_until(lock, deadline, [this] {
      return closed_ || !idle_.empty() || connections_.size() + connecting_ < config_.pool_size;
    });
    if (!woken) {
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      return Status::Timeout("mysql pool '" + name() + "': no free connection within " +
                             std::to_string(config_.acquire_timeout_ms) + " ms");
    }
  }
}

void MysqlPool::Release(MysqlConnection* conn) {
  if (conn == nullptr) {
    return;
  }
  bool drop = false;
  if (conn->in_transaction()) {
    // A rollback that fails on a live session leaves its state unknown: drop it.
    drop = !conn->Rollback().ok();
  }
  drop = drop || conn->broken();

  std::unique_ptr<MysqlConnection> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(connections_.begin(), connections_.end(),
                           [conn](const auto& owned) { return owned.get() == conn; });
    if (it == connections_.end()) {
      // A foreign or twice-released connection: the pool's books are wrong from here on.
      log::Get("storage.mysql")
          ->critical("pool {}: Release of a connection it does not lend", name());
      std::abort();
    }
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    if (drop || closed_) {
      doomed = std::move(*it);
      connections_.erase(it);
      size_.fetch_sub(1, std::memory_order_relaxed);
    } else {
      idle_.push_back(conn);
    }
  }
  released_.notify_one();
  // doomed closes here, outside the lock: mysql_close may write to the socket.
}

void MysqlPool::TrackCommits() {
  if (commits_ == nullptr) {
    commits_ = std::make_unique<GtidPosition>();
    shared_.commits = commits_.get();
  }
}

MysqlPool::Stats MysqlPool::stats() const {
  Stats stats;
  stats.size = size_.load(std::memory_order_relaxed);
  stats.in_use = in_use_.load(std::memory_order_relaxed);
  stats.waits = waits_.load(std::memory_order_relaxed);
  stats.timeouts = timeouts_.load(std::memory_order_relaxed);
  stats.errors = shared_.errors.load(std::memory_order_relaxed);
  return stats;
}

void MysqlPool::Close() {
  std::vector<std::unique_ptr<MysqlConnection>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (MysqlConnection* idle : idle_) {
      auto it = std::find_if(connections_.begin(), connections_.end(),
                             [idle](const auto& owned) { return owned.get() == idle; });
      doomed.push_back(std::move(*it));
      connections_.erase(it);
      size_.fetch_sub(1, std::memory_order_relaxed);
    }
    idle_.clear();
  }
  released_.notify_all();  // waiters see closed_ and give up
}

}  // namespace dbproxy::storage
