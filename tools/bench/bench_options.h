#pragma once

// Command-line options of dbproxy-bench and their parser. Scenario-specific checks (ranges
// large enough, group membership) live in scenario.cc; this file checks syntax and the
// rules that hold for every scenario.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dbproxy::bench {

enum class ScenarioId {
  kLogin,
  kSendExisting,
  kSendNew,
  kGroupSend,
  kUnreadEmpty,
  kUnreadMany,
  kUnreadGroup,
  kMsgList,
  kMixed,
  kIdle,
};

// "login", "send-existing", ...
const char* ScenarioName(ScenarioId id);

// An inclusive range of user ids, written "A-B" (or "A" for one user).
struct UserRange {
  uint32_t first = 0;
  uint32_t last = 0;
  uint32_t size() const { return last - first + 1; }
  bool Contains(uint32_t id) const { return id >= first && id <= last; }
};

struct BenchOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 10600;
  uint32_t connections = 4;
  uint32_t inflight = 200;           // requests in flight per connection
  uint32_t threads = 1;              // event-loop threads; connections are spread over them
  std::optional<uint64_t> requests;  // measured requests; exclusive with duration
  double duration_s = 10;            // measured seconds, when requests is not set
  double warmup_s = 1;
  ScenarioId scenario = ScenarioId::kUnreadEmpty;
  std::optional<UserRange> users;    // absent: the scenario's default
  std::optional<UserRange> senders;  // unread-many / unread-group senders
  std::vector<uint32_t> groups;      // unread-group
  uint32_t group_id = 0;             // group-send
  bool prepare = false;
  uint32_t conversations = 100;  // unread-many: conversations prepared per target
  uint64_t pair_offset = 0;      // send-new: pairs used by earlier runs, skipped
  uint32_t msg_bytes = 32;
  uint32_t msg_cnt = 20;  // msg-list page size
  uint32_t timeout_ms = 5000;
  std::vector<int> pids;
  bool json = false;
  uint64_t seed = 1;
  bool help = false;
};

// The --help text.
std::string UsageText();

// Parses argv[1..argc). On error returns false with a one-line reason in *error that names
// the option ("--connections: expected an integer from 1 to 100000, got 'x'").
[[nodiscard]] bool ParseOptions(int argc, const char* const* argv, BenchOptions* options,
                                std::string* error);

}  // namespace dbproxy::bench
