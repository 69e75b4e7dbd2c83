// test_echo: a small module the core's tests drive over real TCP, MySQL and Redis.
//   0x7001 echo: replies 0x7002 with the request body.
//   0x7003 lookup: body = user id; replies "<IMUser.name>:<INCR test_echo_<id> in unread>".
//   0x7005 sleep: body = milliseconds; sleeps, then replies "slept".
//   0x7007 no reply (DBP_CMD_NO_REPLY); counts into the "no_reply" plugin counter.
//   0x7009 publish: publishes "test.ping" and replies with the number of deliveries seen.
//   0x700b call: calls the internal 0x70f1 and replies with its answer.
//   0x70f1 internal: replies "internal:<body>"; not reachable from the network.
//   0x7011 batch (a batch command, at most 8 per batch, ordered by the body's first byte):
//          body "<letter><n>"; replies 0x7012 "<body>:<k>:<batch size>", where k counts the
//          requests of that letter handled before this one.
//   0x7013 call-batch: calls 0x7011 in-process with the body and replies 0x7014 with its answer.
// Config: greeting (string, default "hi") is echoed by 0x700d.

#include <atomic>
#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "dbproxy/sdk.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kService = 7;

class TestEchoPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    host_ = &host;
    auto greeting = host.ConfigString("greeting", "hi");
    if (!greeting.ok()) {
      return greeting.status();
    }
    greeting_ = *greeting;
    auto fail = host.ConfigBool("fail_init", false);
    if (!fail.ok()) {
      return fail.status();
    }
    if (*fail) {
      return sdk::Status(DBP_E_CONFIG, "fail_init is set");
    }

    sdk::Status s = host.RegisterCommand(
        0x7001, [](sdk::Request& r) { (void)r.Reply(kService, 0x7002, r.body()); });
    if (s.ok()) {
      s = host.RegisterCommand(0x7003, [this](sdk::Request& r) { Lookup(r); });
    }
    if (s.ok()) {
      s = host.RegisterCommand(0x7005, [](sdk::Request& r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(r.body()))));
        (void)r.Reply(kService, 0x7006, "slept");
      });
    }
    if (s.ok()) {
      s = host.RegisterCommand(
          0x7007, [this](sdk::Request&) { host_->Count("no_reply"); }, nullptr, DBP_CMD_NO_REPLY);
    }
    if (s.ok()) {
      s = host.RegisterCommand(0x7009, [this](sdk::Request& r) {
        int n = host_->Publish("test.ping", r.body());
        (void)r.Reply(kService, 0x700a, sdk::StrCat(n, ":", pings_.load()));
      });
    }
    if (s.ok()) {
      s = host.RegisterCommand(0x700b, [this](sdk::Request& r) {
        std::string answer = "none";
        sdk::Status c = host_->Call(
            0x70f1, r.body(), [&](uint16_t, std::string_view body) { answer = std::string(body); });
        (void)r.Reply(kService, 0x700c, c.ok() ? answer : "call failed: " + c.message());
      });
    }
    if (s.ok()) {
      s = host.RegisterCommand(
          0x70f1,
          [](sdk::Request& r) {
            (void)r.Reply(kService, 0x70f2, sdk::StrCat("internal:", r.body()));
          },
          nullptr, DBP_CMD_INTERNAL);
    }
    if (s.ok()) {
      s = host.RegisterCommand(
          0x700d, [this](sdk::Request& r) { (void)r.Reply(kService, 0x700e, greeting_); });
    }
    if (s.ok()) {
      s = host.RegisterBatchCommand(
          0x7011, [this](std::span<sdk::Request> batch) { HandleBatch(batch); }, kMaxBatch,
          /*max_running=*/0, &FirstByteKey);
    }
    if (s.ok()) {
      s = host.RegisterCommand(0x7013, [this](sdk::Request& r) {
        std::string answer = "none";
        sdk::Status c = host_->Call(
            0x7011, r.body(), [&](uint16_t, std::string_view body) { answer = std::string(body); });
        (void)r.Reply(kService, 0x7014, c.ok() ? answer : "call failed: " + c.message());
      });
    }
    if (s.ok()) {
      s = host.Subscribe("test.ping", [this](std::string_view, std::string_view) { pings_++; });
    }
    return s;
  }

 private:
  static constexpr uint32_t kMaxBatch = 8;

  static uint64_t FirstByteKey(const uint8_t* body, size_t len, void*) {
    return len == 0 ? 0 : 0x7011000000ull + body[0];
  }

  void HandleBatch(std::span<sdk::Request> batch) {
    for (sdk::Request& r : batch) {
      const std::string body(r.body());
      int handled = 0;
      if (!body.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        handled = handled_per_letter_[static_cast<unsigned char>(body[0])]++;
      }
      (void)r.Reply(kService, 0x7012, sdk::StrCat(body, ":", handled, ":", batch.size()));
    }
  }

  void Lookup(sdk::Request& r) {
    std::string id(r.body());
    std::string name = "?";
    {
      auto conn = host_->Mysql("teamtalk_slave");
      if (conn.ok()) {
        auto rows = conn->Execute("SELECT name FROM IMUser WHERE id = ?", {id});
        if (rows.ok() && rows->rows() == 1) {
          name = std::string(rows->Text(0, 0));
        }
      } else {
        name = "mysql-down";
      }
    }
    std::string key = "test_echo_" + id;
    auto count = host_->RedisInstance("unread").Command({"INCR", key});
    std::string n = count.ok() ? std::to_string(count->integer()) : "redis-down";
    (void)r.Reply(kService, 0x7004, name + ":" + n);
  }

  sdk::Host* host_ = nullptr;
  std::string greeting_;
  std::atomic<int> pings_{0};
  std::mutex mu_;
  int handled_per_letter_[256] = {};  // guarded by mu_
};

}  // namespace
}  // namespace dbproxy::testing

DBP_PLUGIN("test_echo", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::testing::TestEchoPlugin)
