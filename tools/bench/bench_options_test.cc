#include "tools/bench/bench_options.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dbproxy::bench {
namespace {

// Parses the words after "dbproxy-bench"; returns the error ("" on success).
std::string Parse(std::vector<const char*> words, BenchOptions* options) {
  words.insert(words.begin(), "dbproxy-bench");
  std::string error;
  if (ParseOptions(static_cast<int>(words.size()), words.data(), options, &error)) {
    return "";
  }
  EXPECT_FALSE(error.empty());
  return error;
}

std::string ParseError(std::vector<const char*> words) {
  BenchOptions options;
  return Parse(std::move(words), &options);
}

TEST(BenchOptions, AppliesDefaultsWhenOnlyTheScenarioIsGiven) {
  BenchOptions options;
  ASSERT_EQ(Parse({"--scenario", "login"}, &options), "");
  EXPECT_EQ(options.scenario, ScenarioId::kLogin);
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 10600);
  EXPECT_EQ(options.connections, 4u);
  EXPECT_EQ(options.inflight, 200u);
  EXPECT_EQ(options.threads, 1u);
  EXPECT_FALSE(options.requests.has_value());
  EXPECT_EQ(options.duration_s, 10.0);
  EXPECT_EQ(options.warmup_s, 1.0);
  EXPECT_EQ(options.timeout_ms, 5000u);
  EXPECT_FALSE(options.users.has_value());
  EXPECT_FALSE(options.json);
  EXPECT_FALSE(options.prepare);
}

TEST(BenchOptions, ParsesEveryOptionInBothSpellings) {
  BenchOptions options;
  ASSERT_EQ(Parse({"--host=db.example",
                   "--port",
                   "20000",
                   "--connections=1000",
                   "--inflight",
                   "1",
                   "--threads=4",
                   "--requests",
                   "5000",
                   "--warmup=0.5",
                   "--scenario=unread-many",
                   "--users",
                   "801-900",
                   "--senders=1-300",
                   "--groups",
                   "1,2,4",
                   "--group-id=2",
                   "--prepare",
                   "--conversations",
                   "50",
                   "--pair-offset=123",
                   "--msg-bytes",
                   "100",
                   "--msg-cnt=10",
                   "--timeout-ms",
                   "250",
                   "--pids=10,20",
                   "--json",
                   "--seed",
                   "42"},
                  &options),
            "");
  EXPECT_EQ(options.host, "db.example");
  EXPECT_EQ(options.port, 20000);
  EXPECT_EQ(options.connections, 1000u);
  EXPECT_EQ(options.inflight, 1u);
  EXPECT_EQ(options.threads, 4u);
  EXPECT_EQ(options.requests, 5000u);
  EXPECT_EQ(options.warmup_s, 0.5);
  EXPECT_EQ(options.scenario, ScenarioId::kUnreadMany);
  ASSERT_TRUE(options.users.has_value());
  EXPECT_EQ(options.users->first, 801u);
  EXPECT_EQ(options.users->last, 900u);
  EXPECT_EQ(options.senders->first, 1u);
  EXPECT_EQ(options.senders->last, 300u);
  EXPECT_EQ(options.groups, (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(options.group_id, 2u);
  EXPECT_TRUE(options.prepare);
  EXPECT_EQ(options.conversations, 50u);
  EXPECT_EQ(options.pair_offset, 123u);
  EXPECT_EQ(options.msg_bytes, 100u);
  EXPECT_EQ(options.msg_cnt, 10u);
  EXPECT_EQ(options.timeout_ms, 250u);
  EXPECT_EQ(options.pids, (std::vector<int>{10, 20}));
  EXPECT_TRUE(options.json);
  EXPECT_EQ(options.seed, 42u);
}

TEST(BenchOptions, AcceptsASingleUserAsARange) {
  BenchOptions options;
  ASSERT_EQ(Parse({"--scenario", "unread-empty", "--users", "77"}, &options), "");
  EXPECT_EQ(options.users->first, 77u);
  EXPECT_EQ(options.users->last, 77u);
}

TEST(BenchOptions, HelpNeedsNoScenario) {
  BenchOptions options;
  ASSERT_EQ(Parse({"--help"}, &options), "");
  EXPECT_TRUE(options.help);
  EXPECT_NE(UsageText().find("--scenario NAME"), std::string::npos);
}

TEST(BenchOptions, RejectsAnUnknownOption) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--conections", "4"}),
            "unknown option '--conections' (see --help)");
}

TEST(BenchOptions, RejectsAMissingValue) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--port"}), "--port: missing value");
}

TEST(BenchOptions, RejectsANonNumericCount) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--connections", "four"}),
            "--connections: expected an integer from 1 to 100000, got 'four'");
}

TEST(BenchOptions, RejectsOutOfRangeNumbers) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--connections", "0"}),
            "--connections: expected an integer from 1 to 100000, got '0'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--inflight", "40000"}),
            "--inflight: expected an integer from 1 to 32768, got '40000'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--port", "70000"}),
            "--port: expected an integer from 1 to 65535, got '70000'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--requests", "-5"}),
            "--requests: expected a positive integer, got '-5'");
}

TEST(BenchOptions, RejectsTrailingGarbageInNumbers) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--timeout-ms", "100ms"}),
            "--timeout-ms: expected an integer from 1 to 3600000, got '100ms'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--duration", "5s"}),
            "--duration: expected seconds, more than 0 and at most 86400, got '5s'");
}

TEST(BenchOptions, RejectsAZeroDuration) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--duration", "0"}),
            "--duration: expected seconds, more than 0 and at most 86400, got '0'");
}

TEST(BenchOptions, RejectsABackwardsOrMalformedRange) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--users", "900-801"}),
            "--users: expected a range A-B with 1 <= A <= B, got '900-801'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--users", "0-10"}),
            "--users: expected a range A-B with 1 <= A <= B, got '0-10'");
  EXPECT_EQ(ParseError({"--scenario", "login", "--senders", "1-"}),
            "--senders: expected a range A-B with 1 <= A <= B, got '1-'");
}

TEST(BenchOptions, RejectsAMalformedList) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--pids", "12,,13"}),
            "--pids: expected a comma-separated list of process ids, got '12,,13'");
  EXPECT_EQ(ParseError({"--scenario", "unread-group", "--groups", "1,x"}),
            "--groups: expected a comma-separated list of group ids, got '1,x'");
}

TEST(BenchOptions, RejectsAnUnknownScenario) {
  EXPECT_EQ(ParseError({"--scenario", "send"}),
            "--scenario: expected one of login, send-existing, send-new, group-send, "
            "unread-empty, unread-many, unread-group, msg-list, mixed, idle, got 'send'");
}

TEST(BenchOptions, RequiresAScenario) {
  EXPECT_EQ(ParseError({"--connections", "4"}), "--scenario is required (see --help)");
}

TEST(BenchOptions, RejectsRequestsTogetherWithDuration) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--requests", "10", "--duration", "5"}),
            "--requests and --duration exclude each other");
}

TEST(BenchOptions, RejectsMoreThreadsThanConnections) {
  EXPECT_EQ(ParseError({"--scenario", "login", "--connections", "2", "--threads", "3"}),
            "--threads: must not exceed --connections (2)");
}

TEST(BenchOptions, RejectsARequestCountForTheIdleScenario) {
  EXPECT_EQ(ParseError({"--scenario", "idle", "--requests", "10"}),
            "--requests: the idle scenario sends no requests; use --duration");
}

}  // namespace
}  // namespace dbproxy::bench
