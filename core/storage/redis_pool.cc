#include "core/storage/redis_pool.h"

#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "core/base/log.h"

namespace dbproxy::storage {
namespace {

// RedisReply.type reuses hiredis' numbers unchanged.
static_assert(REDIS_REPLY_STRING == DBP_REDIS_STRING && REDIS_REPLY_ARRAY == DBP_REDIS_ARRAY &&
              REDIS_REPLY_INTEGER == DBP_REDIS_INTEGER && REDIS_REPLY_NIL == DBP_REDIS_NIL &&
              REDIS_REPLY_STATUS == DBP_REDIS_STATUS && REDIS_REPLY_ERROR == DBP_REDIS_ERROR);

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A zero timeout means "block forever" to hiredis and the kernel; never pass one.
timeval ToTimeval(uint32_t ms) {
  ms = std::max(ms, 1u);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

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
  return std::unique_ptr<RedisPool>(new RedisPool(config));
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

Result<RedisPool::ContextPtr> RedisPool::Connect() {
  const std::string where = config_.host + ":" + std::to_string(config_.port);
  if (SteadyNowMs() < connect_blocked_until_ms_.load(std::memory_order_relaxed)) {
    return Status::Unavailable("redis '" + name() + "' at " + where +
                               " is down (last connect failed less than " +
                               std::to_string(kConnectRetryDelayMs) + " ms ago)");
  }
  std::string failure;
  ContextPtr context(redisConnectWithTimeout(config_.host.c_str(), config_.port,
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
  }

  if (!failure.empty()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    connect_blocked_until_ms_.store(SteadyNowMs() + kConnectRetryDelayMs,
                                    std::memory_order_relaxed);
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
  return context;
}

Result<RedisPool::ContextPtr> RedisPool::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquire_timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  bool counted_wait = false;
  for (;;) {
    if (closed_) {
      return Status::Unavailable("redis '" + name() + "' is closed");
    }
    ContextPtr reused;
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
    if (reused != nullptr && !PeerClosedWhileIdle(reused->fd)) {
      return reused;
    }
    reused.reset();  // closed by the server while idle (timeout, CLIENT KILL, restart)
    Result<ContextPtr> fresh = Connect();
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

void RedisPool::Release(ContextPtr context) {
  ContextPtr doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    if (context != nullptr && context->err == 0 && !closed_) {
      idle_.push_back(std::move(context));
    } else {
      --open_;
      size_.fetch_sub(1, std::memory_order_relaxed);
      doomed = std::move(context);
    }
  }
  released_.notify_one();
  // doomed is freed here, outside the lock.
}

Result<RedisReplyPtr> RedisPool::Command(int argc, const char* const* argv, const size_t* argvlen) {
  if (argc < 1 || argv == nullptr || argvlen == nullptr) {
    return Status::Invalid("redis command needs at least one argument");
  }
  Result<ContextPtr> acquired = Acquire();
  if (!acquired.ok()) {
    return acquired.status();
  }
  ContextPtr context = std::move(acquired).value();
  // hiredis only reads argv; its prototype predates const-correct pointer arrays.
  void* raw = redisCommandArgv(context.get(), argc, const_cast<const char**>(argv), argvlen);
  const int saved_errno = errno;
  if (raw == nullptr) {
    const std::string what(argv[0], std::min<size_t>(argvlen[0], 32));
    Status failed = IoFailure(*context, saved_errno, what.c_str());
    context.reset();  // its stream position is unknown: never reuse it
    Release(std::move(context));
    return failed;
  }
  auto* reply = static_cast<redisReply*>(raw);
  RedisReplyPtr copy = CopyReply(*reply);
  freeReplyObject(reply);
  Release(std::move(context));
  return copy;
}

Result<RedisReplyPtr> RedisPool::Pipeline(const std::vector<std::vector<std::string>>& cmds) {
  for (const auto& cmd : cmds) {
    if (cmd.empty()) {
      return Status::Invalid("redis pipeline holds an empty command");
    }
  }
  auto replies = std::make_unique<RedisReply>();
  replies->type = DBP_REDIS_ARRAY;
  if (cmds.empty()) {
    return replies;
  }
  Result<ContextPtr> acquired = Acquire();
  if (!acquired.ok()) {
    return acquired.status();
  }
  ContextPtr context = std::move(acquired).value();

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
    if (redisAppendCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      Status failed = IoFailure(*context, errno, "pipeline");
      context.reset();  // a half-filled output buffer must never be sent
      Release(std::move(context));
      return failed;
    }
  }
  replies->elements.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr) {
      Status failed = IoFailure(*context, errno, "pipeline");
      context.reset();  // later replies may still arrive: never reuse it
      Release(std::move(context));
      return failed;
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies->elements.push_back(CopyReply(*reply));
    freeReplyObject(reply);
  }
  Release(std::move(context));
  return replies;
}

RedisPool::Stats RedisPool::stats() const {
  Stats stats;
  stats.size = size_.load(std::memory_order_relaxed);
  stats.in_use = in_use_.load(std::memory_order_relaxed);
  stats.waits = waits_.load(std::memory_order_relaxed);
  stats.timeouts = timeouts_.load(std::memory_order_relaxed);
  stats.errors = errors_.load(std::memory_order_relaxed);
  return stats;
}

void RedisPool::Close() {
  std::vector<ContextPtr> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    open_ -= static_cast<uint32_t>(idle_.size());
    size_.fetch_sub(static_cast<uint32_t>(idle_.size()), std::memory_order_relaxed);
    doomed = std::move(idle_);
    idle_.clear();
  }
  released_.notify_all();  // waiters see closed_ and give up
}

}  // namespace dbproxy::storage
