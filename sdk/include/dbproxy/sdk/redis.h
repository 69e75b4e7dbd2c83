#pragma once

// Redis through the host's named instances: argv-style commands (binary-safe), pipelines,
// and RAII replies. A reply is owned by one thread at a time.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dbproxy/abi.h"
#include "dbproxy/sdk/status.h"

namespace dbproxy::sdk {

// A read-only view of one reply node; valid while its owning RedisReply lives.
class RedisValue {
 public:
  RedisValue(const dbp_host_api_t* api, const dbp_redis_reply_t* r) : api_(api), r_(r) {}

  int type() const { return r_ ? api_->redis_reply_type(r_) : DBP_REDIS_NIL; }
  bool is_nil() const { return type() == DBP_REDIS_NIL; }
  bool is_error() const { return type() == DBP_REDIS_ERROR; }
  bool is_string() const { return type() == DBP_REDIS_STRING; }
  long long integer() const { return r_ ? api_->redis_reply_integer(r_) : 0; }
  // STRING, STATUS and ERROR text; "" otherwise.
  std::string_view str() const {
    const char* d = nullptr;
    size_t n = 0;
    if (r_ == nullptr || !api_->redis_reply_string(r_, &d, &n)) {
      return {};
    }
    return std::string_view(d, n);
  }
  size_t size() const { return r_ ? api_->redis_reply_elements(r_) : 0; }
  RedisValue operator[](size_t i) const {
    return RedisValue(api_, api_->redis_reply_element(r_, i));
  }

 private:
  const dbp_host_api_t* api_;
  const dbp_redis_reply_t* r_;
};

// An owned top-level reply. Move-only.
class RedisReply {
 public:
  RedisReply() = default;
  RedisReply(const dbp_host_api_t* api, dbp_redis_reply_t* r) : api_(api), r_(r) {}
  RedisReply(RedisReply&& o) noexcept : api_(o.api_), r_(std::exchange(o.r_, nullptr)) {}
  RedisReply& operator=(RedisReply&& o) noexcept {
    std::swap(api_, o.api_);
    std::swap(r_, o.r_);
    return *this;
  }
  RedisReply(const RedisReply&) = delete;
  RedisReply& operator=(const RedisReply&) = delete;
  ~RedisReply() {
    if (r_ != nullptr) {
      api_->redis_reply_free(r_);
    }
  }

  RedisValue value() const { return RedisValue(api_, r_); }
  int type() const { return value().type(); }
  bool is_nil() const { return value().is_nil(); }
  bool is_error() const { return value().is_error(); }
  long long integer() const { return value().integer(); }
  std::string_view str() const { return value().str(); }
  size_t size() const { return value().size(); }
  RedisValue operator[](size_t i) const { return value()[i]; }

 private:
  const dbp_host_api_t* api_ = nullptr;
  dbp_redis_reply_t* r_ = nullptr;
};

// Commands queued and sent in one write. Exec() once.
class RedisPipeline {
 public:
  RedisPipeline(const dbp_host_api_t* api, dbp_redis_pipeline_t* pl) : api_(api), pl_(pl) {}
  RedisPipeline(RedisPipeline&& o) noexcept : api_(o.api_), pl_(std::exchange(o.pl_, nullptr)) {}
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;
  RedisPipeline& operator=(RedisPipeline&&) = delete;
  ~RedisPipeline() {
    if (pl_ != nullptr) {
      api_->redis_pipeline_free(pl_);
    }
  }

  bool valid() const { return pl_ != nullptr; }
  void Append(std::initializer_list<std::string_view> args) { Append(args.begin(), args.size()); }
  void Append(const std::vector<std::string>& args) {
    std::vector<std::string_view> v(args.begin(), args.end());
    Append(v.data(), v.size());
  }
  void Append(const std::string_view* args, size_t n) {
    if (pl_ == nullptr) {
      return;
    }
    std::vector<const char*> argv(n);
    std::vector<size_t> lens(n);
    for (size_t i = 0; i < n; ++i) {
      argv[i] = args[i].data();
      lens[i] = args[i].size();
    }
    (void)api_->redis_pipeline_append(pl_, static_cast<int>(n), argv.data(), lens.data());
    ++count_;
  }
  size_t count() const { return count_; }

  // Sends everything; element i of the ARRAY reply answers command i.
  Result<RedisReply> Exec() {
    if (pl_ == nullptr) {
      return Status(DBP_E_NOT_FOUND, "no such redis instance");
    }
    dbp_redis_reply_t* r = nullptr;
    int rc = api_->redis_pipeline_exec(std::exchange(pl_, nullptr), &r);
    if (rc != DBP_OK) {
      return Status(rc, api_->strerror(rc));
    }
    return RedisReply(api_, r);
  }

 private:
  const dbp_host_api_t* api_;
  dbp_redis_pipeline_t* pl_;
  size_t count_ = 0;
};

// A named instance ("unread", "group_member", ...). Cheap to copy; any worker thread.
class Redis {
 public:
  Redis(const dbp_host_api_t* api, dbp_plugin_t* p, std::string instance)
      : api_(api), p_(p), instance_(std::move(instance)) {}

  Result<RedisReply> Command(std::initializer_list<std::string_view> args) const {
    return Command(args.begin(), args.size());
  }
  Result<RedisReply> Command(const std::vector<std::string>& args) const {
    std::vector<std::string_view> v(args.begin(), args.end());
    return Command(v.data(), v.size());
  }
  Result<RedisReply> Command(const std::string_view* args, size_t n) const {
    std::vector<const char*> argv(n);
    std::vector<size_t> lens(n);
    for (size_t i = 0; i < n; ++i) {
      argv[i] = args[i].data();
      lens[i] = args[i].size();
    }
    dbp_redis_reply_t* r = nullptr;
    int rc = api_->redis_command(p_, instance_.c_str(), static_cast<int>(n), argv.data(),
                                 lens.data(), &r);
    if (rc != DBP_OK) {
      return Status(rc, api_->strerror(rc));
    }
    return RedisReply(api_, r);
  }
  RedisPipeline Pipeline() const {
    return RedisPipeline(api_, api_->redis_pipeline_begin(p_, instance_.c_str()));
  }

 private:
  const dbp_host_api_t* api_;
  dbp_plugin_t* p_;
  std::string instance_;
};

}  // namespace dbproxy::sdk
