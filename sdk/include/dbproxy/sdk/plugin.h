#pragma once

// The C++ face of a plugin: derive from sdk::Plugin, implement Init(), and name the class in
// DBP_PLUGIN(...). Handlers receive an sdk::Request& and reach MySQL, Redis, events and
// logs through sdk::Host. Exceptions never cross the ABI: the trampolines here catch them.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dbproxy/abi.h"
#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/redis.h"
#include "dbproxy/sdk/status.h"

namespace dbproxy::sdk {

// Concatenates strings and numbers into one string (for log lines and error messages).
inline void AppendPiece(std::string& out, std::string_view s) { out.append(s); }
inline void AppendPiece(std::string& out, const char* s) { out.append(s); }
inline void AppendPiece(std::string& out, const std::string& s) { out.append(s); }
inline void AppendPiece(std::string& out, char c) { out.push_back(c); }
template <typename T>
  requires std::is_arithmetic_v<T>
inline void AppendPiece(std::string& out, T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}
template <typename T>
  requires std::is_enum_v<T>
inline void AppendPiece(std::string& out, T v) {  // enums print as their number
  AppendPiece(out, static_cast<std::underlying_type_t<T>>(v));
}
template <typename... A>
std::string StrCat(const A&... a) {
  std::string out;
  (AppendPiece(out, a), ...);
  return out;
}

// One request being handled. Lent to a handler for the duration of the call; one thread.
class Request {
 public:
  Request(const dbp_host_api_t* api, dbp_request_t* req) : api_(api), req_(req) {}

  std::string_view body() const {
    const uint8_t* b = nullptr;
    size_t n = 0;
    (void)api_->request_body(req_, &b, &n);
    return std::string_view(reinterpret_cast<const char*>(b), n);
  }
  uint16_t command() const { return api_->request_command(req_); }
  uint16_t seq() const { return api_->request_seq(req_); }
  uint64_t connection() const { return api_->request_connection(req_); }
  bool replied() const { return replied_; }

  // Sends body as the reply frame (seq echoed). At most once per request.
  Status Reply(uint16_t service_id, uint16_t cmd_id, std::string_view body) {
    int rc = api_->reply(req_, service_id, cmd_id, body.data(), body.size());
    if (rc == DBP_OK) {
      replied_ = true;
    }
    return rc == DBP_OK ? Status() : Status(rc, api_->strerror(rc));
  }
  // Serializes any message with SerializeToString (protobuf) and replies with it.
  template <typename Message>
  Status ReplyMessage(uint16_t service_id, uint16_t cmd_id, const Message& m) {
    std::string bytes;
    m.SerializeToString(&bytes);
    return Reply(service_id, cmd_id, bytes);
  }

  dbp_request_t* raw() const { return req_; }

 private:
  const dbp_host_api_t* api_;
  dbp_request_t* req_;
  bool replied_ = false;
};

using Handler = std::function<void(Request&)>;
// A batch command's handler: the requests of one batch, in an order that keeps each order
// key's arrival order. Each must be replied to exactly once; the span lives for the call.
using BatchHandler = std::function<void(std::span<Request> requests)>;
using EventHandler = std::function<void(std::string_view event, std::string_view data)>;
using TimerHandler = std::function<void()>;
using CallReply = std::function<void(uint16_t cmd_id, std::string_view body)>;

// The host as one plugin instance sees it. Registration methods are for Init() only; the
// rest may be called from any worker thread. Owned by the plugin object; lives until
// shutdown.
class Host {
 public:
  Host(const dbp_host_api_t* api, dbp_plugin_t* p) : api_(api), p_(p) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const dbp_host_api_t* api() const { return api_; }
  dbp_plugin_t* raw() const { return p_; }

  // ---- Registration (Init only)
  Status RegisterCommand(uint16_t cmd_id, Handler fn, dbp_order_key_fn order_key = nullptr,
                         uint32_t flags = 0) {
    handlers_.push_back(BoundHandler{this, std::move(fn)});
    return Check(api_->register_command(p_, cmd_id, flags, &Host::HandlerTrampoline, order_key,
                                        &handlers_.back()));
  }
  // A command whose queued requests the host may pass several at a time (up to max_batch)
  // to fn, with at most max_running batches at once (0 = no cap): see
  // register_batch_command in abi.h. On a host older than ABI 1.1 (which never loads a
  // plugin built against 1.1, but may be reached through a mislabelled build) the command
  // is registered as a plain one and fn sees batches of one.
  Status RegisterBatchCommand(uint16_t cmd_id, BatchHandler fn, uint32_t max_batch,
                              uint32_t max_running, dbp_order_key_fn order_key = nullptr,
                              uint32_t flags = 0) {
    batch_handlers_.push_back(BoundBatchHandler{this, std::move(fn)});
    void* user = &batch_handlers_.back();
    if (api_->struct_size < offsetof(dbp_host_api_t, register_batch_command) + sizeof(void*) ||
        api_->register_batch_command == nullptr) {
      return Check(
          api_->register_command(p_, cmd_id, flags, &Host::BatchOfOneTrampoline, order_key, user));
    }
    return Check(api_->register_batch_command(p_, cmd_id, flags, &Host::BatchTrampoline, order_key,
                                              max_batch, max_running, user));
  }
  Status Subscribe(const char* event, EventHandler fn) {
    events_.push_back(BoundEvent{this, std::move(fn)});
    return Check(api_->subscribe(p_, event, &Host::EventTrampoline, &events_.back()));
  }
  Status AddTimer(uint32_t interval_ms, TimerHandler fn) {
    timers_.push_back(BoundTimer{this, std::move(fn)});
    return Check(api_->add_timer(p_, interval_ms, &Host::TimerTrampoline, &timers_.back()));
  }
  Result<int64_t> ConfigInt(const char* key, int64_t def) {
    int64_t v = def;
    int rc = api_->config_int(p_, key, def, &v);
    if (rc != DBP_OK) {
      return ConfigError(rc, key, "an integer");
    }
    return v;
  }
  Result<bool> ConfigBool(const char* key, bool def) {
    int v = def ? 1 : 0;
    int rc = api_->config_bool(p_, key, v, &v);
    if (rc != DBP_OK) {
      return ConfigError(rc, key, "a boolean");
    }
    return v != 0;
  }
  Result<std::string> ConfigString(const char* key, const char* def) {
    const char* v = def;
    int rc = api_->config_string(p_, key, def, &v);
    if (rc != DBP_OK) {
      return ConfigError(rc, key, "a string");
    }
    return std::string(v ? v : "");
  }
  void SetError(const std::string& msg) { (void)api_->set_error(p_, msg.c_str()); }

  // ---- Logs and counters (any thread)
  void Log(int level, const std::string& msg) const { (void)api_->log(p_, level, msg.c_str()); }
  template <typename... A>
  void Debug(const A&... a) const {
    Log(DBP_LOG_DEBUG, StrCat(a...));
  }
  template <typename... A>
  void Info(const A&... a) const {
    Log(DBP_LOG_INFO, StrCat(a...));
  }
  template <typename... A>
  void Warn(const A&... a) const {
    Log(DBP_LOG_WARN, StrCat(a...));
  }
  template <typename... A>
  void Error(const A&... a) const {
    Log(DBP_LOG_ERROR, StrCat(a...));
  }
  void Count(const char* name, int64_t delta = 1) const {
    (void)api_->counter_add(p_, name, delta);
  }

  // ---- Storage (any worker thread)
  Result<MysqlConn> Mysql(const char* pool) const {
    dbp_mysql_t* c = nullptr;
    int rc = api_->mysql_acquire(p_, pool, &c);
    if (rc != DBP_OK) {
      return Status(rc, StrCat("mysql pool ", pool, ": ", api_->strerror(rc)));
    }
    return MysqlConn(api_, c);
  }
  Redis RedisInstance(std::string instance) const { return Redis(api_, p_, std::move(instance)); }

  // ---- Events and calls (any worker thread)
  int Publish(const char* event, std::string_view data) const {
    return api_->publish(p_, event, data.data(), data.size());
  }
  Status Call(uint16_t cmd_id, std::string_view body, const CallReply& on_reply) const {
    BoundCall bound{this, &on_reply};
    int rc = api_->call(p_, cmd_id, body.data(), body.size(), &Host::CallTrampoline, &bound);
    return rc == DBP_OK ? Status() : Status(rc, api_->strerror(rc));
  }

 private:
  Status Check(int rc) const { return rc == DBP_OK ? Status() : Status(rc, api_->strerror(rc)); }
  Status ConfigError(int rc, const char* key, const char* want) const {
    return Status(rc, StrCat("config key '", key, "' must be ", want));
  }

  // Every trampoline catches: an exception must not unwind through C frames of the host.
  struct BoundHandler {
    Host* host;
    Handler fn;
  };
  static void HandlerTrampoline(dbp_request_t* req, void* user) {
    auto* bound = static_cast<BoundHandler*>(user);
    Request request(bound->host->api_, req);
    try {
      bound->fn(request);
    } catch (...) {
      bound->host->ReportException("command handler");
    }
  }
  struct BoundBatchHandler {
    Host* host;
    BatchHandler fn;
  };
  static void BatchTrampoline(dbp_request_t* const* reqs, size_t count, void* user) {
    auto* bound = static_cast<BoundBatchHandler*>(user);
    std::vector<Request> requests;
    requests.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      requests.emplace_back(bound->host->api_, reqs[i]);
    }
    try {
      bound->fn(std::span<Request>(requests));
    } catch (...) {
      bound->host->ReportException("batch command handler");
    }
  }
  static void BatchOfOneTrampoline(dbp_request_t* req, void* user) {
    BatchTrampoline(&req, 1, user);
  }
  struct BoundEvent {
    Host* host;
    EventHandler fn;
  };
  struct BoundTimer {
    Host* host;
    TimerHandler fn;
  };
  struct BoundCall {
    const Host* host;
    const CallReply* fn;
  };
  void ReportException(const char* where) const {
    try {
      throw;
    } catch (const std::exception& e) {
      Error(where, " threw: ", e.what());
    } catch (...) {
      Error(where, " threw a non-standard exception");
    }
    Count("handler_exceptions");
  }
  static void EventTrampoline(const char* event, const void* data, size_t len, void* user) {
    auto* bound = static_cast<BoundEvent*>(user);
    try {
      bound->fn(event, std::string_view(static_cast<const char*>(data), len));
    } catch (...) {
      bound->host->ReportException("event subscriber");
    }
  }
  static void TimerTrampoline(void* user) {
    auto* bound = static_cast<BoundTimer*>(user);
    try {
      bound->fn();
    } catch (...) {
      bound->host->ReportException("timer");
    }
  }
  static void CallTrampoline(uint16_t cmd, const uint8_t* body, size_t len, void* user) {
    auto* bound = static_cast<BoundCall*>(user);
    try {
      (*bound->fn)(cmd, std::string_view(reinterpret_cast<const char*>(body), len));
    } catch (...) {
      bound->host->ReportException("call reply");
    }
  }

  const dbp_host_api_t* api_;
  dbp_plugin_t* p_;
  // deques keep element addresses stable: the host holds pointers to them.
  std::deque<BoundHandler> handlers_;
  std::deque<BoundBatchHandler> batch_handlers_;
  std::deque<BoundEvent> events_;
  std::deque<BoundTimer> timers_;
};

// Base class of every plugin object. One instance per loaded plugin instance.
class Plugin {
 public:
  virtual ~Plugin() = default;
  // Registers commands, subscriptions and timers; reads config. Runs once.
  virtual Status Init(Host& host) = 0;
  // Called after the last handler has returned. Join any thread you started.
  virtual void Shutdown() {}
};

}  // namespace dbproxy::sdk
