#include "core/storage/sentinel_events.h"

#include <poll.h>

#include <chrono>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/base/log.h"
#include "core/storage/clock.h"
#include "core/storage/sentinel_resolver.h"

namespace dbproxy::storage {
namespace {

constexpr int kPollMs = 200;        // also the stop latency
constexpr int kReconnectMs = 1000;  // a lost sentinel is retried this often

const char* const kChannels[] = {"+try-failover",
                                 "+failover-state-select-slave",
                                 "+selected-slave",
                                 "+failover-state-send-slaveof-noone",
                                 "+promoted-slave",
                                 "+switch-master",
                                 "+failover-end",
                                 "+failover-end-for-timeout",
                                 "-failover-abort-not-elected",
                                 "-failover-abort-no-good-slave",
                                 "-failover-abort-slave-timeout"};

struct Subscriber {
  config::RedisAddress sentinel;
  SentinelResolver::ContextPtr context;
  int64_t retry_at_ms = 0;
};

}  // namespace

SentinelEventListener::SentinelEventListener(const config::RedisConfig& config, Callback on_event)
    : config_(config), on_event_(std::move(on_event)) {
  thread_ = std::thread([this] { Run(); });
}

SentinelEventListener::~SentinelEventListener() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool SentinelEventListener::Classify(const std::string& master_name, const std::string& channel,
                                     const std::string& text, SentinelEvent* event) {
  // +switch-master: "<name> <old ip> <old port> <new ip> <new port>"; the others describe an
  // instance: "<type> <name> <ip> <port>" for the master itself, "... @ <master name> <ip>
  // <port>" for a replica.
  const bool ours = channel == "+switch-master"
                        ? text.rfind(master_name + " ", 0) == 0
                        : text.find("@ " + master_name + " ") != std::string::npos ||
                              text.rfind("master " + master_name + " ", 0) == 0;
  if (!ours) {
    return false;
  }
  if (channel == "+try-failover" || channel == "+failover-state-select-slave" ||
      channel == "+selected-slave" || channel == "+failover-state-send-slaveof-noone") {
    *event = SentinelEvent::kFailoverStarting;
  } else if (channel == "+promoted-slave") {
    *event = SentinelEvent::kPromoted;
  } else if (channel.rfind("-failover-abort", 0) == 0) {
    *event = SentinelEvent::kAborted;
  } else {
    // +switch-master, +failover-end, +failover-end-for-timeout: a new master is named (the
    // end comes just before the switch); the fence stays until the pool has switched.
    *event = SentinelEvent::kSwitched;
  }
  return true;
}

void SentinelEventListener::Run() {
  auto logger = log::Get("storage.redis");
  std::vector<Subscriber> subs;
  for (const config::RedisAddress& s : config_.sentinels) {
    subs.push_back({s, nullptr, 0});
  }
  std::vector<std::string> subscribe = {"SUBSCRIBE"};
  subscribe.insert(subscribe.end(), std::begin(kChannels), std::end(kChannels));
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& a : subscribe) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }

  while (!stop_.load(std::memory_order_relaxed)) {
    const int64_t now = SteadyNowMs();
    std::vector<pollfd> fds;
    std::vector<Subscriber*> polled;
    for (Subscriber& sub : subs) {
      if (sub.context == nullptr && now >= sub.retry_at_ms) {
        sub.retry_at_ms = now + kReconnectMs;
        auto opened = SentinelResolver::OpenSentinel(config_, sub.sentinel);
        if (opened.ok()) {
          sub.context = std::move(opened).value();
          // Only the first confirmation is read here; the others arrive as ordinary replies.
          auto* reply = static_cast<redisReply*>(redisCommandArgv(
              sub.context.get(), static_cast<int>(argv.size()), argv.data(), argvlen.data()));
          if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
            logger->debug("instance {}: cannot subscribe to sentinel {} events", config_.name,
                          SentinelResolver::ToString(sub.sentinel));
            sub.context.reset();
          }
          freeReplyObject(reply);
        }
      }
      if (sub.context != nullptr) {
        fds.push_back({sub.context->fd, POLLIN, 0});
        polled.push_back(&sub);
      }
    }
    if (fds.empty()) {
      ::poll(nullptr, 0, kPollMs);
      continue;
    }
    if (::poll(fds.data(), fds.size(), kPollMs) <= 0) {
      continue;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      Subscriber& sub = *polled[i];
      if (redisBufferRead(sub.context.get()) != REDIS_OK) {
        sub.context.reset();  // reconnected after kReconnectMs
        continue;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(sub.context.get(), &raw) != REDIS_OK) {
          sub.context.reset();
          break;
        }
        if (raw == nullptr) {
          break;  // no whole reply buffered
        }
        auto* reply = static_cast<redisReply*>(raw);
        // A published event: ["message", channel, text].
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
            reply->element[0]->str != nullptr &&
            std::string(reply->element[0]->str, reply->element[0]->len) == "message" &&
            reply->element[1]->str != nullptr && reply->element[2]->str != nullptr) {
          const std::string channel(reply->element[1]->str, reply->element[1]->len);
          const std::string text(reply->element[2]->str, reply->element[2]->len);
          SentinelEvent event;
          if (Classify(config_.master_name, channel, text, &event)) {
            logger->debug("instance {}: sentinel {}: {} {}", config_.name,
                          SentinelResolver::ToString(sub.sentinel), channel, text);
            on_event_(event, channel + " " + text);
          }
        }
        freeReplyObject(reply);
      }
    }
  }
}

}  // namespace dbproxy::storage
