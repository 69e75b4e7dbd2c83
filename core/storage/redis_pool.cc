#include "core/storage/redis_pool.h"

#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/base/log.h"
#include "core/storage/clock.h"
#include "core/storage/sentinel_resolver.h"

namespace dbproxy::storage {
namespace {

// RedisReply.type reuses hiredis' numbers unchanged.
static_assert(REDIS_REPLY_STRING == DBP_REDIS_STRING && REDIS_REPLY_ARRAY == DBP_REDIS_ARRAY &&
              REDIS_REPLY_INTEGER == DBP_REDIS_INTEGER && REDIS_REPLY_NIL == DBP_REDIS_NIL &&
              REDIS_REPLY_STATUS == DBP_REDIS_STATUS && REDIS_REPLY_ERROR == DBP_REDIS_ERROR);

// True if the server closed the socket (or sent something unasked, which outside pub/sub it
// only does before closing). A zero-timeout poll: one syscall, no round trip.
bool PeerClosedWhileIdle(int fd) {
  if (fd < 0) {
    return true;
  }
  pollfd probe{};
  probe.fd = fd;
  probe.events = POLLIN | POLLRDHUP;
  if (poll(&probe, 1, 0) <= 0) {
    return false;
  }
  return (probe.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

RedisReplyPtr CopyReply(const redisReply& from) {
  auto to = std::make_unique<RedisReply>();
  to->type = from.type;
  switch (from.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      to->str.assign(from.str, from.len);
      break;
    case REDIS_REPLY_INTEGER:
      to->integer = from.integer;
      break;
    case REDIS_REPLY_ARRAY:
      to->elements.reserve(from.elements);
      for (size_t i = 0; i < from.elements; ++i) {
        to->elements.push_back(CopyReply(*from.element[i]));
      }
      break;
    default:  // NIL
      break;
  }
  return to;
}

}  // namespace

Result<std::unique_ptr<RedisPool>> RedisPool::Create(const config::RedisConfig& config) {
  if (config.pool_size == 0) {
    return Status(DBP_E_CONFIG, "redis instance '" + config.name + "': pool_size must be > 0");
  }
  if (!config.sentinels.empty() && config.master_name.empty()) {
    return Status(DBP_E_CONFIG, "redis instance '" + config.name + "': sentinels need master_name");
  }
  std::unique_ptr<RedisPool> pool(new RedisPool(config));
  if (!config.sentinels.empty()) {
    pool->resolver_ = std::make_unique<SentinelResolver>(config);
    pool->watcher_ = std::thread([p = pool.get()] { p->Watch(); });
    pool->events_ = std::make_unique<SentinelEventListener>(
        config, [p = pool.get()](SentinelEvent event, const std::string& text) {
          p->OnSentinelEvent(event, text);
        });
  }
  return pool;
}

RedisPool::RedisPool(const config::RedisConfig& config) : config_(config) {}

RedisPool::~RedisPool() {
  Close();
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ != 0) {
    log::Get("storage.redis")
        ->error("instance {}: destroyed while {} calls are running", name(), open_);
  }
}

bool RedisPool::IsFailoverError(const RedisReply& reply) {
  if (reply.type != DBP_REDIS_ERROR) {
    return false;
  }
  for (std::string_view code : {"READONLY", "MASTERDOWN", "LOADING"}) {
    if (reply.str.compare(0, code.size(), code) == 0) {
      return true;
    }
  }
  return false;
}

Status RedisPool::IoFailure(const redisContext& context, int saved_errno, const char* what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  std::string message = "redis '" + name() + "' " + what + ": " + context.errstr;
  // With SO_RCVTIMEO/SO_SNDTIMEO set by redisSetTimeout, an expired timeout surfaces as an
  // I/O error with EAGAIN.
  const bool timed_out =
      context.err == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT);
  log::Get("storage.redis")->debug("{}", message);
  return timed_out ? Status::Timeout(std::move(message)) : Status::Unavailable(std::move(message));
}

Result<RedisPool::Conn> RedisPool::Connect() {
  config::RedisAddress target{config_.host, config_.port};
  uint64_t epoch = 0;
  if (resolver_ != nullptr) {
    auto resolved = Target();
    if (!resolved.ok()) {
      return resolved.status();
    }
    std::tie(target, epoch) = std::move(resolved).value();
  }
  const std::string where = SentinelResolver::ToString(target);
  if (SteadyNowMs() < connect_blocked_until_ms_.load(std::memory_order_relaxed)) {
    return Status::Unavailable("redis '" + name() + "' at " + where +
                               " is down (last connect failed less than " +
                               std::to_string(kConnectRetryDelayMs) + " ms ago)");
  }
  std::string failure;
  ContextPtr context(redisConnectWithTimeout(target.host.c_str(), target.port,
                                             ToTimeval(config_.connect_timeout_ms)));
  if (context == nullptr) {
    failure = "cannot allocate a connection";
  } else if (context->err != 0) {
    failure = context->errstr;
  } else if (redisSetTimeout(context.get(), ToTimeval(config_.command_timeout_ms)) != REDIS_OK) {
    failure = "cannot set the command timeout: " + std::string(context->errstr);
  } else {
    (void)redisEnableKeepAlive(context.get());  // best effort: only speeds up detection
    std::vector<std::vector<std::string>> setup;
    if (!config_.username.empty()) {
      setup.push_back({"AUTH", config_.username, config_.password});
    } else if (!config_.password.empty()) {
      setup.push_back({"AUTH", config_.password});
    }
    if (config_.db != 0) {
      setup.push_back({"SELECT", std::to_string(config_.db)});
    }
    for (const auto& cmd : setup) {
      std::vector<const char*> argv;
      std::vector<size_t> argvlen;
      for (const std::string& arg : cmd) {
        argv.push_back(arg.data());
        argvlen.push_back(arg.size());
      }
      auto* reply = static_cast<redisReply*>(redisCommandArgv(
          context.get(), static_cast<int>(argv.size()), argv.data(), argvlen.data()));
      if (reply == nullptr) {
        failure = cmd[0] + " failed: " + context->errstr;
        break;
      }
      const bool rejected = reply->type == REDIS_REPLY_ERROR;
      if (rejected) {
        failure = cmd[0] + " rejected: " + std::string(reply->str, reply->len);
      }
      freeReplyObject(reply);
      if (rejected) {
        break;
      }
    }
    // The sentinels' answer may be a moment old: never write to a server that is not master.
    if (failure.empty() && resolver_ != nullptr) {
      if (Status role = SentinelResolver::IsMaster(*context); !role.ok()) {
        failure = role.message();
      }
    }
  }

  if (!failure.empty()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    connect_blocked_until_ms_.store(SteadyNowMs() + kConnectRetryDelayMs,
                                    std::memory_order_relaxed);
    if (resolver_ != nullptr) {
      MarkStale(epoch, "connect to the master failed");
    }
    // One warning per outage, not one per attempt.
    const bool was_down = server_down_.exchange(true, std::memory_order_relaxed);
    log::Get("storage.redis")
        ->log(was_down ? spdlog::level::debug : spdlog::level::warn,
              "instance {}: cannot connect to {}: {}", name(), where, failure);
    return Status::Unavailable("redis '" + name() + "' at " + where + ": " + failure);
  }
  if (server_down_.exchange(false, std::memory_order_relaxed)) {
    log::Get("storage.redis")->info("instance {}: connected to {} again", name(), where);
  }
  return Conn{std::move(context), epoch, false};
}

Result<RedisPool::Conn> RedisPool::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquire_timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  bool counted_wait = false;
  for (;;) {
    if (closed_) {
      return Status::Unavailable("redis '" + name() + "' is closed");
    }
    if (fenced_until_ms_ != 0 && SteadyNowMs() < fenced_until_ms_) {
      return Status::Unavailable("redis '" + name() + "': master '" + config_.master_name +
                                 "' is failing over");
    }
    Conn reused;
    if (!idle_.empty()) {
      reused = std::move(idle_.back());  // most recently used first
      idle_.pop_back();
    } else if (open_ < config_.pool_size) {
      ++open_;
      size_.fetch_add(1, std::memory_order_relaxed);
    } else {
      if (!counted_wait) {
        counted_wait = true;
        waits_.fetch_add(1, std::memory_order_relaxed);
      }
      const bool woken = released_.wait_until(lock, deadline, [this] {
        return closed_ || !idle_.empty() || open_ < config_.pool_size;
      });
      if (!woken) {
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        return Status::Timeout("redis '" + name() + "': no free connection within " +
                               std::to_string(config_.acquire_timeout_ms) + " ms");
      }
      continue;
    }
    // This call now owns a slot; connecting (or probing) happens without the lock.
    in_use_.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    if (reused.context != nullptr && !PeerClosedWhileIdle(reused.context->fd)) {
      return reused;
    }
    if (reused.context != nullptr && resolver_ != nullptr) {
      // Closed while idle: a restart, a timeout, or a sentinel demoting the server.
      MarkStale(reused.epoch, "an idle connection was closed by the server");
    }
    reused.context.reset();  // closed by the server while idle (timeout, CLIENT KILL, restart)
    Result<Conn> fresh = Connect();
    if (fresh.ok()) {
      return fresh;
    }
    lock.lock();
    --open_;
    size_.fetch_sub(1, std::memory_order_relaxed);
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    lock.unlock();
    released_.notify_one();  // a waiter may take the slot; it fails fast while Redis is down
    return fresh.status();
  }
}

void RedisPool::Release(Conn conn) {
  Conn doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    // A connection of an older epoch talks to a former master: never reuse it.
    if (conn.context != nullptr && conn.context->err == 0 && !conn.failed && !closed_ &&
        (resolver_ == nullptr || conn.epoch == epoch_)) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
      size_.fetch_sub(1, std::memory_order_relaxed);
      doomed = std::move(conn);
    }
  }
  released_.notify_one();
  // doomed is freed here, outside the lock.
}

Result<RedisReplyPtr> RedisPool::Command(int argc, const char* const* argv, const size_t* argvlen) {
  if (argc < 1 || argv == nullptr || argvlen == nullptr) {
    return Status::Invalid("redis command needs at least one argument");
  }
  uint64_t epoch = 0;
  if (resolver_ != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    epoch = epoch_;
  }
  Ran ran = Ran::kSomething;
  Result<RedisReplyPtr> result = CommandOnce(argc, argv, argvlen, &ran);
  if (ran == Ran::kNothing && RetryOnNewMaster(epoch)) {
    result = CommandOnce(argc, argv, argvlen, &ran);
  }
  return result;
}

Result<RedisReplyPtr> RedisPool::CommandOnce(int argc, const char* const* argv,
                                             const size_t* argvlen, Ran* ran) {
  *ran = Ran::kSomething;
  Result<Conn> acquired = Acquire();
  if (!acquired.ok()) {
    if (acquired.status().code() == DBP_E_UNAVAILABLE) {
      *ran = Ran::kNothing;  // nothing was sent
    }
    return acquired.status();
  }
  Conn conn = std::move(acquired).value();
  // hiredis only reads argv; its prototype predates const-correct pointer arrays.
  void* raw = redisCommandArgv(conn.context.get(), argc, const_cast<const char**>(argv), argvlen);
  const int saved_errno = errno;
  if (raw == nullptr) {
    const std::string what(argv[0], std::min<size_t>(argvlen[0], 32));
    Status failed = IoFailure(*conn.context, saved_errno, what.c_str());
    if (resolver_ != nullptr) {
      MarkStale(conn.epoch, "a connection to the master was lost");
    }
    conn.context.reset();  // its stream position is unknown: never reuse it
    Release(std::move(conn));
    return failed;
  }
  auto* reply = static_cast<redisReply*>(raw);
  RedisReplyPtr copy = CopyReply(*reply);
  freeReplyObject(reply);
  if (resolver_ != nullptr && IsFailoverError(*copy)) {
    *ran = Ran::kNothing;  // the server refused it
    conn.failed = true;
    MarkStale(conn.epoch, "the master answered READONLY, MASTERDOWN or LOADING");
  }
  Release(std::move(conn));
  return copy;
}

Result<RedisReplyPtr> RedisPool::Pipeline(const std::vector<std::vector<std::string>>& cmds) {
  for (const auto& cmd : cmds) {
    if (cmd.empty()) {
      return Status::Invalid("redis pipeline holds an empty command");
    }
  }
  if (cmds.empty()) {
    auto replies = std::make_unique<RedisReply>();
    replies->type = DBP_REDIS_ARRAY;
    return replies;
  }
  uint64_t epoch = 0;
  if (resolver_ != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    epoch = epoch_;
  }
  Ran ran = Ran::kSomething;
  Result<RedisReplyPtr> result = PipelineOnce(cmds, &ran);
  if (ran == Ran::kNothing && RetryOnNewMaster(epoch)) {
    result = PipelineOnce(cmds, &ran);
  }
  return result;
}

Result<RedisReplyPtr> RedisPool::PipelineOnce(const std::vector<std::vector<std::string>>& cmds,
                                              Ran* ran) {
  *ran = Ran::kSomething;
  auto replies = std::make_unique<RedisReply>();
  replies->type = DBP_REDIS_ARRAY;
  Result<Conn> acquired = Acquire();
  if (!acquired.ok()) {
    if (acquired.status().code() == DBP_E_UNAVAILABLE) {
      *ran = Ran::kNothing;  // nothing was sent
    }
    return acquired.status();
  }
  Conn conn = std::move(acquired).value();
  redisContext* context = conn.context.get();

  // Appending only fills hiredis' output buffer; the first redisGetReply writes it all.
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const auto& cmd : cmds) {
    argv.clear();
    argvlen.clear();
    for (const std::string& arg : cmd) {
      argv.push_back(arg.data());
      argvlen.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      Status failed = IoFailure(*context, errno, "pipeline");
      conn.context.reset();  // a half-filled output buffer must never be sent
      Release(std::move(conn));
      return failed;
    }
  }
  replies->elements.reserve(cmds.size());
  size_t refused = 0;  // READONLY / MASTERDOWN / LOADING replies
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
      Status failed = IoFailure(*context, errno, "pipeline");
      if (resolver_ != nullptr) {
        MarkStale(conn.epoch, "a connection to the master was lost");
      }
      conn.context.reset();  // later replies may still arrive: never reuse it
      Release(std::move(conn));
      return failed;
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies->elements.push_back(CopyReply(*reply));
    freeReplyObject(reply);
    refused += IsFailoverError(*replies->elements.back()) ? 1 : 0;
  }
  if (resolver_ != nullptr && refused > 0) {
    conn.failed = true;
    MarkStale(conn.epoch, "the master answered READONLY, MASTERDOWN or LOADING");
    // Only when every command was refused is it certain that none of them ran.
    *ran = refused == cmds.size() ? Ran::kNothing : Ran::kSomething;
  }
  Release(std::move(conn));
  return replies;
}

RedisPool::Stats RedisPool::stats() const {
  Stats stats;
  stats.size = size_.load(std::memory_order_relaxed);
  stats.in_use = in_use_.load(std::memory_order_relaxed);
  stats.waits = waits_.load(std::memory_order_relaxed);
  stats.timeouts = timeouts_.load(std::memory_order_relaxed);
  stats.errors = errors_.load(std::memory_order_relaxed);
  stats.master_switches = master_switches_.load(std::memory_order_relaxed);
  stats.resolve_failures = resolve_failures_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  if (master_) {
    stats.master = SentinelResolver::ToString(*master_);
  }
  return stats;
}

void RedisPool::Close() {
  std::vector<Conn> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    open_ -= static_cast<uint32_t>(idle_.size());
    size_.fetch_sub(static_cast<uint32_t>(idle_.size()), std::memory_order_relaxed);
    doomed = std::move(idle_);
    idle_.clear();
  }
  released_.notify_all();  // waiters see closed_ and give up
  watch_wake_.notify_all();
  events_.reset();  // joins the listener, which may call OnSentinelEvent until then
  if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) {
    watcher_.join();
  }
}

}  // namespace dbproxy::storage
