// example_kv: a small third-party dbproxy plugin, built outside the dbproxy tree against the
// installed SDK (dbproxy-dev). It shows a command handler that reads MySQL and writes Redis.
//
//   0x7A01 lookup (service 7). Request body: a user id in decimal ASCII, e.g. "42".
//   0x7A02 reply. Body "<IMUser.nick>:<count>", where count is the result of INCR on
//          <key_prefix><user id> in the Redis instance "unread": how many times this user
//          was looked up. On failure the body is one of
//            "error:bad-request"  the body is not a user id (1 .. 4294967295)
//            "error:not-found"    no IMUser row with that id (Redis is not touched)
//            "error:mysql"        the teamtalk_slave pool failed
//            "error:redis"        the unread instance failed
//
// Config (plugins.modules.example_kv):
//   key_prefix   string, 1 to 64 bytes, default "example_kv_"
//
// Command ids 0x7A00-0x7AFF are outside every TeamTalk range; a real third-party module
// picks its own free block and never reuses TeamTalk's ids.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dbproxy/sdk.h"

#ifndef EXAMPLE_KV_VERSION
#define EXAMPLE_KV_VERSION "0.0.0"
#endif

namespace example_kv {
namespace {

namespace sdk = dbproxy::sdk;

constexpr uint16_t kServiceOther = 0x0007;
constexpr uint16_t kLookupReq = 0x7A01;
constexpr uint16_t kLookupRsp = 0x7A02;
constexpr size_t kMaxPrefixBytes = 64;

// The user id in body: decimal digits only, not zero, fits 32 bits (IMUser.id).
std::optional<uint32_t> ParseUserId(std::string_view body) {
  uint32_t id = 0;
  const char* end = body.data() + body.size();
  auto [ptr, ec] = std::from_chars(body.data(), end, id);
  if (body.empty() || ec != std::errc() || ptr != end || id == 0) {
    return std::nullopt;
  }
  return id;
}

// The ordering key: lookups of one user sent on one connection run one after another, in
// the order they arrived; other requests run in parallel. Called on the daemon's loop
// thread for every request, so it only parses.
uint64_t OrderByUser(const uint8_t* body, size_t len, void* /*user*/) {
  std::optional<uint32_t> id =
      ParseUserId(std::string_view(reinterpret_cast<const char*>(body), len));
  return id ? *id : 0;
}

class ExampleKv : public sdk::Plugin {
 public:
  // Runs once per load (and once per reload that changes this module), on the control
  // thread: read every config key (an unread key fails the load as unknown), then register.
  sdk::Status Init(sdk::Host& host) override {
    host_ = &host;
    sdk::Result<std::string> prefix = host.ConfigString("key_prefix", "example_kv_");
    if (!prefix.ok()) {
      return prefix.status();
    }
    if (prefix->empty() || prefix->size() > kMaxPrefixBytes) {
      return sdk::Status(DBP_E_CONFIG,
                         sdk::StrCat("key_prefix must be 1 to ", kMaxPrefixBytes, " bytes"));
    }
    key_prefix_ = std::move(prefix).value();
    host.Info("counting lookups under '", key_prefix_, "<user id>'");
    return host.RegisterCommand(
        kLookupReq, [this](sdk::Request& r) { Lookup(r); }, &OrderByUser);
  }

 private:
  // Runs on a worker thread, possibly on several at once: it touches no mutable member.
  void Lookup(sdk::Request& r) {
    std::optional<uint32_t> id = ParseUserId(r.body());
    if (!id) {
      host_->Count("bad_requests");
      Reply(r, "error:bad-request");
      return;
    }

    std::string nick;
    {
      sdk::Result<sdk::MysqlConn> conn = host_->Mysql("teamtalk_slave");
      if (!conn.ok()) {
        Fail(r, *id, "error:mysql", conn.status());
        return;
      }
      sdk::Result<sdk::MysqlResult> rows =
          conn->Execute("SELECT nick FROM IMUser WHERE id = ?", {*id});
      if (!rows.ok()) {
        Fail(r, *id, "error:mysql", rows.status());
        return;
      }
      if (rows->rows() == 0) {
        host_->Count("not_found");
        Reply(r, "error:not-found");
        return;
      }
      nick = std::string(rows->Text(0, 0));
    }  // the connection goes back to the pool here, before the Redis round trip

    std::string key = key_prefix_ + std::to_string(*id);
    sdk::Result<sdk::RedisReply> count = host_->RedisInstance("unread").Command({"INCR", key});
    if (!count.ok()) {
      Fail(r, *id, "error:redis", count.status());
      return;
    }
    if (count->type() != DBP_REDIS_INTEGER) {  // e.g. WRONGTYPE: the key holds something else
      Fail(r, *id, "error:redis", sdk::Status(DBP_E_REDIS, std::string(count->str())));
      return;
    }
    host_->Count("lookups");
    Reply(r, sdk::StrCat(nick, ":", count->integer()));
  }

  void Fail(sdk::Request& r, uint32_t id, std::string_view answer, const sdk::Status& why) {
    host_->Warn("cmd 0x7a01 seq ", r.seq(), " user ", id, ": ", why.message());
    host_->Count("backend_errors");
    Reply(r, answer);
  }

  void Reply(sdk::Request& r, std::string_view body) {
    sdk::Status s = r.Reply(kServiceOther, kLookupRsp, body);
    if (!s.ok()) {
      host_->Warn("cmd 0x7a01 seq ", r.seq(), ": reply failed: ", s.message());
    }
  }

  sdk::Host* host_ = nullptr;
  std::string key_prefix_;  // written in Init only, read by handlers afterwards
};

}  // namespace
}  // namespace example_kv

// The plugin's one exported symbol. The name must match plugins.enabled and the file name
// (example_kv.so); RELOADABLE: it keeps no state outside the plugin object, so SIGHUP may
// swap in a new copy while the old one drains.
DBP_PLUGIN("example_kv", EXAMPLE_KV_VERSION, DBP_PLUGIN_RELOADABLE, example_kv::ExampleKv)
