#include "tools/bench/bench_options.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>

namespace dbproxy::bench {
namespace {

struct ScenarioEntry {
  ScenarioId id;
  const char* name;
};

constexpr ScenarioEntry kScenarios[] = {
    {ScenarioId::kLogin, "login"},
    {ScenarioId::kSendExisting, "send-existing"},
    {ScenarioId::kSendNew, "send-new"},
    {ScenarioId::kGroupSend, "group-send"},
    {ScenarioId::kUnreadEmpty, "unread-empty"},
    {ScenarioId::kUnreadMany, "unread-many"},
    {ScenarioId::kUnreadGroup, "unread-group"},
    {ScenarioId::kMsgList, "msg-list"},
    {ScenarioId::kMixed, "mixed"},
    {ScenarioId::kIdle, "idle"},
};

template <class T>
bool ParseInteger(std::string_view text, T min, T max, T* out) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool ParseSeconds(std::string_view text, double min, double* out) {
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value) || value < min ||
      value > 86400) {
    return false;
  }
  *out = value;
  return true;
}

bool ParseRange(std::string_view text, UserRange* out) {
  const size_t dash = text.find('-');
  UserRange range;
  if (dash == std::string_view::npos) {
    if (!ParseInteger<uint32_t>(text, 1, UINT32_MAX, &range.first)) {
      return false;
    }
    range.last = range.first;
  } else if (!ParseInteger<uint32_t>(text.substr(0, dash), 1, UINT32_MAX, &range.first) ||
             !ParseInteger<uint32_t>(text.substr(dash + 1), 1, UINT32_MAX, &range.last) ||
             range.last < range.first) {
    return false;
  }
  *out = range;
  return true;
}

template <class T>
bool ParseList(std::string_view text, T min, T max, std::vector<T>* out) {
  std::vector<T> values;
  while (true) {
    const size_t comma = text.find(',');
    T value{};
    if (!ParseInteger<T>(text.substr(0, comma), min, max, &value)) {
      return false;
    }
    values.push_back(value);
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  *out = std::move(values);
  return true;
}

std::string Quote(std::string_view value) { return "'" + std::string(value) + "'"; }

}  // namespace

const char* ScenarioName(ScenarioId id) {
  for (const ScenarioEntry& entry : kScenarios) {
    if (entry.id == id) {
      return entry.name;
    }
  }
  return "unknown";
}

std::string UsageText() {
  return R"(Usage: dbproxy-bench --scenario NAME [options]

Load generator for TeamTalk db_proxy-compatible servers (dbproxyd or the original
db_proxy_server). Keeps --inflight requests outstanding on each of --connections
connections, matches replies by seq, and reports throughput, latency and failures.

Target and load:
  --host HOST            server address (127.0.0.1)
  --port PORT            server port (10600)
  --connections N        TCP connections (4)
  --inflight K           requests in flight per connection (200)
  --threads T            event-loop threads; connections spread over them (1)
  --requests TOTAL       stop after TOTAL measured requests, or
  --duration SECONDS     measure for SECONDS (10; fractions allowed)
  --warmup SECONDS       unmeasured load before measuring (1)
  --timeout-ms MS        a request without reply after MS counts as timeout (5000)
  --seed N               random seed for user picks (1)

Data:
  --users A-B            user id range (default per scenario, see below)
  --senders A-B          unread-many: senders of the prepared messages (1-100)
                         unread-group: sender of the prepared group messages (first id; 1)
  --group-id G           group-send: the group (demo: 1=10 members, 2=100, 4=500)
  --groups G1,G2,...     unread-group: groups receiving prepared messages (1,2,4)
  --prepare              create the data the scenario reads before measuring
  --conversations N      unread-many: conversations prepared per target user (100)
  --pair-offset N        send-new: skip the first N pairs (used by an earlier run)
  --msg-bytes N          length of each text message (32)
  --msg-cnt N            msg-list: messages asked for per request (20)

Output:
  --pids PID,...         report CPU seconds (utime+stime) and RSS of these processes
                         over the measured window
  --json                 print one JSON object on stdout instead of the text report
  --help                 this text

Scenarios (defaults assume the demo data: users 1-1000, password 123456;
groups 1 = users 1-10, 2 = 1-100, 4 = 1-500):
  login          0x0703 as user<N> / md5("123456"); good = result_code 0. Users 1-1000.
  send-existing  0x0301 single text on fixed pairs (A,A+1), (A+2,A+3), ...; one
                 message per pair is sent before measuring so every pair exists.
                 Good = msg_id != 0. Users 1-800 (400 pairs).
  send-new       0x0301 single text, every message on a pair never used before
                 (first contact). A range of n users gives n*floor((n-1)/2) pairs,
                 consumed in order (warmup included); the report prints the next
                 --pair-offset for a follow-up run on the same database.
                 Users 1-800 (319,200 pairs).
  group-send     0x0301 group text to --group-id from random members. Users default
                 to 1..members of the demo group; --users must hold members only.
  unread-empty   0x0307 for users with nothing unread. Users 901-1000 (in no group,
                 and no other scenario sends to them by default).
  unread-many    0x0307 for users with ~--conversations unread conversations.
                 --prepare sends one message from each of --conversations different
                 senders to every target. Users (targets) 801-900, senders 1-100.
  unread-group   0x0307 for users with unread group messages. --prepare sends one
                 message to each of --groups from the first --senders id. Users 2-10.
  msg-list       0x0309 newest --msg-cnt messages of a pair (A,A+1) as above; one
                 message per pair is sent first (--msg-cnt per pair with --prepare).
                 Users 1-800.
  mixed          msg_server-like profile over the send-existing pairs: 40% 0x0301
                 send, 25% 0x0307 unread, 20% 0x0309 message list, 10% 0x0201
                 recent sessions, 5% 0x0703 login. Users 1-800.
  idle           connect, send nothing, answer heartbeats for --duration; reports
                 connections still open (for the idle-connection RSS target).

Exit status: 0 all requests good, 1 some failed, 2 bad options, 3 could not run.
)";
}

bool ParseOptions(int argc, const char* const* argv, BenchOptions* options, std::string* error) {
  BenchOptions parsed;
  bool saw_requests = false;
  bool saw_duration = false;
  bool saw_scenario = false;

  // Each handler parses one option's value; false means the value is malformed, and
  // *expected says what was wanted.
  using Handler = std::function<bool(std::string_view value, std::string * expected)>;
  const std::map<std::string_view, Handler> with_value = {
      {"--host",
       [&](std::string_view v, std::string* expected) {
         *expected = "a host name or address";
         parsed.host = std::string(v);
         return !v.empty();
       }},
      {"--port",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 65535";
         return ParseInteger<uint16_t>(v, 1, 65535, &parsed.port);
       }},
      {"--connections",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 100000";
         return ParseInteger<uint32_t>(v, 1, 100000, &parsed.connections);
       }},
      {"--inflight",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 32768";
         return ParseInteger<uint32_t>(v, 1, 32768, &parsed.inflight);
       }},
      {"--threads",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 64";
         return ParseInteger<uint32_t>(v, 1, 64, &parsed.threads);
       }},
      {"--requests",
       [&](std::string_view v, std::string* expected) {
         *expected = "a positive integer";
         uint64_t n = 0;
         saw_requests = true;
         if (!ParseInteger<uint64_t>(v, 1, UINT64_MAX, &n)) {
           return false;
         }
         parsed.requests = n;
         return true;
       }},
      {"--duration",
       [&](std::string_view v, std::string* expected) {
         *expected = "seconds, more than 0 and at most 86400";
         saw_duration = true;
         return ParseSeconds(v, 0, &parsed.duration_s) && parsed.duration_s > 0;
       }},
      {"--warmup",
       [&](std::string_view v, std::string* expected) {
         *expected = "seconds, from 0 to 86400";
         return ParseSeconds(v, 0, &parsed.warmup_s);
       }},
      {"--scenario",
       [&](std::string_view v, std::string* expected) {
         *expected =
             "one of login, send-existing, send-new, group-send, unread-empty, "
             "unread-many, unread-group, msg-list, mixed, idle";
         for (const ScenarioEntry& entry : kScenarios) {
           if (v == entry.name) {
             parsed.scenario = entry.id;
             saw_scenario = true;
             return true;
           }
         }
         return false;
       }},
      {"--users",
       [&](std::string_view v, std::string* expected) {
         *expected = "a range A-B with 1 <= A <= B";
         UserRange range;
         if (!ParseRange(v, &range)) {
           return false;
         }
         parsed.users = range;
         return true;
       }},
      {"--senders",
       [&](std::string_view v, std::string* expected) {
         *expected = "a range A-B with 1 <= A <= B";
         UserRange range;
         if (!ParseRange(v, &range)) {
           return false;
         }
         parsed.senders = range;
         return true;
       }},
      {"--groups",
       [&](std::string_view v, std::string* expected) {
         *expected = "a comma-separated list of group ids";
         return ParseList<uint32_t>(v, 1, UINT32_MAX, &parsed.groups);
       }},
      {"--group-id",
       [&](std::string_view v, std::string* expected) {
         *expected = "a positive group id";
         return ParseInteger<uint32_t>(v, 1, UINT32_MAX, &parsed.group_id);
       }},
      {"--conversations",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 10000";
         return ParseInteger<uint32_t>(v, 1, 10000, &parsed.conversations);
       }},
      {"--pair-offset",
       [&](std::string_view v, std::string* expected) {
         *expected = "a non-negative integer";
         return ParseInteger<uint64_t>(v, 0, UINT64_MAX, &parsed.pair_offset);
       }},
      {"--msg-bytes",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 65536";
         return ParseInteger<uint32_t>(v, 1, 65536, &parsed.msg_bytes);
       }},
      {"--msg-cnt",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 10000";
         return ParseInteger<uint32_t>(v, 1, 10000, &parsed.msg_cnt);
       }},
      {"--timeout-ms",
       [&](std::string_view v, std::string* expected) {
         *expected = "an integer from 1 to 3600000";
         return ParseInteger<uint32_t>(v, 1, 3600000, &parsed.timeout_ms);
       }},
      {"--pids",
       [&](std::string_view v, std::string* expected) {
         *expected = "a comma-separated list of process ids";
         return ParseList<int>(v, 1, INT32_MAX, &parsed.pids);
       }},
      {"--seed",
       [&](std::string_view v, std::string* expected) {
         *expected = "a non-negative integer";
         return ParseInteger<uint64_t>(v, 0, UINT64_MAX, &parsed.seed);
       }},
  };

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg == "--json") {
      parsed.json = true;
      continue;
    }
    if (arg == "--prepare") {
      parsed.prepare = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto it = with_value.find(name);
    if (it == with_value.end()) {
      *error = "unknown option " + Quote(arg) + " (see --help)";
      return false;
    }
    if (!value) {
      if (i + 1 >= argc) {
        *error = std::string(name) + ": missing value";
        return false;
      }
      value = argv[++i];
    }
    std::string expected;
    if (!it->second(*value, &expected)) {
      *error = std::string(name) + ": expected " + expected + ", got " + Quote(*value);
      return false;
    }
  }

  if (parsed.help) {
    *options = std::move(parsed);
    return true;
  }
  if (!saw_scenario) {
    *error = "--scenario is required (see --help)";
    return false;
  }
  if (saw_requests && saw_duration) {
    *error = "--requests and --duration exclude each other";
    return false;
  }
  if (parsed.threads > parsed.connections) {
    *error =
        "--threads: must not exceed --connections (" + std::to_string(parsed.connections) + ")";
    return false;
  }
  if (parsed.scenario == ScenarioId::kIdle && saw_requests) {
    *error = "--requests: the idle scenario sends no requests; use --duration";
    return false;
  }
  *options = std::move(parsed);
  return true;
}

}  // namespace dbproxy::bench
