#include "core/storage/sentinel_resolver.h"

#include <sys/time.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/storage/clock.h"

namespace dbproxy::storage {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

ReplyPtr Run(redisContext& context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(&context, static_cast<int>(argv.size()), argv.data(), argvlen.data())));
}

bool SameAddress(const config::RedisAddress& a, const config::RedisAddress& b) {
  return a.host == b.host && a.port == b.port;
}

}  // namespace

SentinelResolver::SentinelResolver(const config::RedisConfig& config) : config_(config) {}

SentinelResolver::~SentinelResolver() = default;

std::string SentinelResolver::ToString(const config::RedisAddress& address) {
  if (address.host.find(':') != std::string::npos) {
    return "[" + address.host + "]:" + std::to_string(address.port);
  }
  return address.host + ":" + std::to_string(address.port);
}

Result<SentinelResolver::ContextPtr> SentinelResolver::OpenSentinel(
    const config::RedisConfig& config, const config::RedisAddress& sentinel) {
  ContextPtr context(redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port,
                                             ToTimeval(config.sentinel_timeout_ms)));
  if (context == nullptr) {
    return Status::Unavailable("cannot allocate a connection");
  }
  if (context->err != 0) {
    return Status::Unavailable(context->errstr);
  }
  if (redisSetTimeout(context.get(), ToTimeval(config.sentinel_timeout_ms)) != REDIS_OK) {
    return Status::Unavailable(std::string("cannot set a timeout: ") + context->errstr);
  }
  if (!config.sentinel_password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!config.sentinel_username.empty()) {
      auth.push_back(config.sentinel_username);
    }
    auth.push_back(config.sentinel_password);
    ReplyPtr reply = Run(*context, auth);
    if (reply == nullptr) {
      return Status::Unavailable(std::string("AUTH failed: ") + context->errstr);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      return Status::Unavailable("AUTH rejected: " + std::string(reply->str, reply->len));
    }
  }
  return context;
}

Result<config::RedisAddress> SentinelResolver::Ask(size_t index) {
  const config::RedisAddress& sentinel = config_.sentinels[index];
  ContextPtr context;
  if (index == preferred_ && connection_ != nullptr && connection_->err == 0) {
    context = std::move(connection_);
  } else {
    Result<ContextPtr> opened = OpenSentinel(config_, sentinel);
    if (!opened.ok()) {
      return opened.status();
    }
    context = std::move(opened).value();
  }
  ReplyPtr reply = Run(*context, {"SENTINEL", "get-master-addr-by-name", config_.master_name});
  if (reply == nullptr) {
    return Status::Unavailable(context->errstr);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return Status::Unavailable(std::string(reply->str, reply->len));
  }
  // Sentinel answers a null array (RESP2: nil) for a master name it does not monitor.
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    return Status::Unavailable("does not monitor a master named '" + config_.master_name + "'");
  }
  config::RedisAddress master;
  master.host.assign(reply->element[0]->str, reply->element[0]->len);
  const std::string port(reply->element[1]->str, reply->element[1]->len);
  char* end = nullptr;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (end == port.c_str() || *end != '\0' || value <= 0 || value > 65535) {
    return Status::Unavailable("answered a bad port '" + port + "'");
  }
  master.port = static_cast<uint16_t>(value);
  preferred_ = index;
  connection_ = std::move(context);
  return master;
}

Result<config::RedisAddress> SentinelResolver::Resolve(
    const std::optional<config::RedisAddress>& reject) {
  const size_t n = config_.sentinels.size();
  std::string failures;
  const size_t first = preferred_;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    Result<config::RedisAddress> answer = Ask(index);
    std::string why;
    if (!answer.ok()) {
      why = answer.status().message();
    } else if (reject && SameAddress(*answer, *reject)) {
      why = "names " + ToString(*reject) + ", which is not a master";
    } else {
      return answer;
    }
    if (index == preferred_) {
      connection_.reset();  // next time reconnect, or ask another first
    }
    failures += (failures.empty() ? "" : "; ") + ToString(config_.sentinels[index]) + ": " + why;
  }
  return Status::Unavailable("no sentinel named a master for '" + config_.master_name + "' (" +
                             failures + ")");
}

Status SentinelResolver::ProbeMaster(const config::RedisConfig& config,
                                     const config::RedisAddress& server) {
  ContextPtr probe(redisConnectWithTimeout(server.host.c_str(), server.port,
                                           ToTimeval(config.connect_timeout_ms)));
  if (probe == nullptr || probe->err != 0) {
    return Status::Unavailable(probe == nullptr ? "cannot allocate a connection" : probe->errstr);
  }
  (void)redisSetTimeout(probe.get(), ToTimeval(config.command_timeout_ms));  // best effort
  if (!config.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!config.username.empty()) {
      auth.push_back(config.username);
    }
    auth.push_back(config.password);
    ReplyPtr reply = Run(*probe, auth);
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
      return Status::Unavailable("AUTH failed or was rejected");
    }
  }
  return IsMaster(*probe);
}

Status SentinelResolver::IsMaster(redisContext& context) {
  ReplyPtr reply = Run(context, {"ROLE"});
  if (reply == nullptr) {
    return Status::Unavailable(std::string("ROLE failed: ") + context.errstr);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return Status::Unavailable("ROLE rejected: " + std::string(reply->str, reply->len));
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
      reply->element[0]->type != REDIS_REPLY_STRING) {
    return Status::Unavailable("ROLE answered something that is not a role");
  }
  const std::string role(reply->element[0]->str, reply->element[0]->len);
  if (role != "master") {
    return Status::Unavailable("it is not a master (ROLE: " + role + ")");
  }
  return Status::Ok();
}

}  // namespace dbproxy::storage
