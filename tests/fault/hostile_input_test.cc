// Hostile request bodies against every command of the wire contract, with every chat module
// built in this tree enabled. For each command: an empty body, 64 random bodies (fixed
// seed), a valid body cut at every byte, the valid body without each of its fields, and
// edge values (ids 0 / 2^32-1 / wider than 32 bits, strings with quotes, backslash, %, NUL,
// 4-byte and invalid UTF-8, SQL injections, fields repeated up to the frame limit).
//
// A command with a response must answer each of them exactly once, with its response
// command and service id and the request's seq, in a body that parses as the response
// (required fields present), and with its failure value when the request does not parse.
// A command without a response must stay silent. After each batch the same connection still
// answers a valid request and the daemon is alive. Every send answered msg_id N != 0 has its
// row in the shard tables, and there are no other rows: a send answered msg_id 0 stored
// nothing.
//
// Then SQL metacharacters go through every text column a request writes and must come back
// byte-exact, and frames with impossible lengths or unknown commands must cost only their
// own connection.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "tests/fault/body_mutations.h"
#include "tests/fault/command_catalog.h"
#include "tests/fault/fault_harness.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing::fault {
namespace {

using Frame = WireClient::Frame;

constexpr uint32_t kMaxFrameBytes = 1024 * 1024;  // the daemon's default max_frame_bytes
constexpr size_t kMaxBody = kMaxFrameBytes - WireClient::kHeaderBytes;
constexpr int kRandomBodies = 64;
constexpr int kAnswerTimeoutMs = 10000;
constexpr size_t kChunkRequests = 16;
constexpr size_t kChunkBytes = 3 * 1024 * 1024;
constexpr size_t kMaxProblemsShown = 12;

// One process-wide daemon, database and Redis: the suites share them (and the message row
// ledger) command after command; a crash restarts the daemon for the next command.
struct World {
  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<TestRedis> redis;
  std::unique_ptr<DaemonProcess> daemon;
  DaemonOptions options;
  WireClient client;
  uint16_t next_seq = 0;
  MessageLedger ledger;
  std::vector<std::string> crashes;  // reproductions, printed at the end
};

World* world = nullptr;

uint16_t NextSeq() {
  if (++world->next_seq == 0) {
    world->next_seq = 1;  // 0 is what server-originated frames carry
  }
  return world->next_seq;
}

bool Connect() {
  world->client.Close();
  return world->client.Connect(world->daemon->port());
}

bool StartDaemon() {
  world->daemon = std::make_unique<DaemonProcess>();
  if (!world->daemon->Start(*world->db, *world->redis, world->options)) {
    return false;
  }
  return Connect();
}

bool DaemonAlive() { return !world->daemon->WaitExit(0).has_value(); }

// The command a no-response batch uses to prove the connection still works.
const CommandCase* ProbeCase() {
  for (uint16_t cmd : {0x0204, 0x0309, 0x0307, 0x0509, 0x0401}) {
    for (const CommandCase& c : Catalog()) {
      if (c.request_cmd == cmd && ModuleBuilt(c.module)) {
        return &c;
      }
    }
  }
  return nullptr;
}

struct Outcome {
  const Variant* variant = nullptr;
  uint16_t seq = 0;
  std::vector<Frame> answers;
};

// What one batch did, for the summary line.
struct BatchStats {
  int sent = 0;
  int answered = 0;
  int valid_requests = 0;   // bodies that parse as the request message
  int failure_answers = 0;  // answers carrying the failure value
};

// What is wrong with the answers to one request; "" if nothing.
std::string CheckOutcome(const CommandCase& c, const Outcome& o, BatchStats* stats) {
  std::unique_ptr<MessageLite> request = c.new_request();
  bool valid_request = ParsesWhole(request.get(), o.variant->body);
  stats->sent += 1;
  stats->valid_requests += valid_request ? 1 : 0;
  stats->answered += o.answers.empty() ? 0 : 1;
  if (c.response_cmd == 0) {
    return o.answers.empty() ? "" : "answered although the command has no response";
  }
  if (o.answers.empty()) {
    return "no answer within " + std::to_string(kAnswerTimeoutMs) + " ms";
  }
  if (o.answers.size() > 1) {
    return std::to_string(o.answers.size()) + " answers";
  }
  std::string header = CheckResponseHeader(c, o.answers[0], o.seq);
  if (!header.empty()) {
    return header;
  }
  std::unique_ptr<MessageLite> response = c.new_response();
  if (!ParsesWhole(response.get(), o.answers[0].body)) {
    return "answer does not parse as " + response->GetTypeName() +
           " (a required field is missing or the bytes are broken): " +
           HexPrefix(o.answers[0].body, 48);
  }
  if (c.failure_problem && c.failure_problem(*response).empty()) {
    stats->failure_answers += 1;
  }
  if (!valid_request && c.failure_problem) {
    std::string problem = c.failure_problem(*response);
    if (!problem.empty()) {
      return "request does not parse, yet the answer is not the failure value: " + problem;
    }
  }
  if (c.request_cmd == 0x0301) {
    world->ledger.Record(static_cast<const IM::Message::IMMsgData&>(*response));
  }
  return "";
}

// Replays the bodies one at a time against a fresh daemon until one kills it; returns a
// description of the first that does (or of the batch if none does alone).
std::string FindCrasher(const CommandCase& c, const std::vector<const Variant*>& suspects) {
  (void)world->daemon->Stop();
  if (!StartDaemon()) {
    return "daemon does not restart";
  }
  for (const Variant* v : suspects) {
    uint16_t seq = NextSeq();
    (void)world->client.SendFrame(c.service_id, c.request_cmd, seq, v->body);
    (void)world->client.ReadFrame(c.response_cmd == 0 ? 300 : 3000, true);
    if (!DaemonAlive()) {
      std::string repro = c.name() + " " + v->what + ", body (" + std::to_string(v->body.size()) +
                          " bytes) " + HexPrefix(v->body, 96);
      (void)world->daemon->Stop();
      (void)StartDaemon();
      return repro;
    }
  }
  return c.name() + ": daemon died during a batch of " + std::to_string(suspects.size()) +
         " bodies, none of which kills it alone (first: " + suspects.front()->what + ")";
}

// Sends every variant to command c on the shared connection (pipelined in chunks), collects
// the answers and checks them. Adds one test failure listing what went wrong.
void RunBatch(const CommandCase& c, const std::string& batch_name,
              const std::vector<Variant>& variants) {
  std::vector<std::string> problems;
  BatchStats stats;
  const CommandCase* probe = c.response_cmd == 0 ? ProbeCase() : nullptr;
  size_t next = 0;
  while (next < variants.size()) {
    // One chunk: at most kChunkRequests requests and kChunkBytes bytes in flight.
    std::map<uint16_t, Outcome> outcomes;
    std::vector<const Variant*> chunk;
    size_t bytes = 0;
    while (next < variants.size() && chunk.size() < kChunkRequests &&
           (chunk.empty() || bytes + variants[next].body.size() <= kChunkBytes)) {
      const Variant& v = variants[next++];
      uint16_t seq = NextSeq();
      outcomes[seq] = Outcome{&v, seq, {}};
      chunk.push_back(&v);
      bytes += v.body.size();
      if (!world->client.SendFrame(c.service_id, c.request_cmd, seq, v.body, kAnswerTimeoutMs)) {
        problems.push_back(v.what + ": send failed (" + world->client.last_error() + ")");
        break;
      }
    }
    uint16_t probe_seq = 0;
    if (probe != nullptr) {
      probe_seq = NextSeq();
      (void)world->client.SendFrame(probe->service_id, probe->request_cmd, probe_seq,
                                    probe->valid_body(NextRound()));
    }
    // Read until every request of a responding command (or the probe) is answered.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
    auto pending = [&] {
      if (probe != nullptr) {
        return probe_seq != 0;
      }
      return std::any_of(outcomes.begin(), outcomes.end(),
                         [](const auto& o) { return o.second.answers.empty(); });
    };
    while (pending() && std::chrono::steady_clock::now() < deadline) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      std::optional<Frame> f = world->client.ReadFrame(std::max(left, 1), true);
      if (!f) {
        break;
      }
      if (probe != nullptr && f->seq == probe_seq) {
        probe_seq = 0;
        continue;
      }
      auto it = outcomes.find(f->seq);
      if (it == outcomes.end()) {
        problems.push_back("frame with unexpected seq " + std::to_string(f->seq) + " cmd " +
                           Hex16(f->command_id));
        continue;
      }
      it->second.answers.push_back(std::move(*f));
    }
    if (probe != nullptr && probe_seq != 0) {
      problems.push_back("the connection stopped answering " + probe->name() +
                         " after a chunk starting with " + chunk.front()->what);
    }
    if (!DaemonAlive()) {
      std::string repro = FindCrasher(c, chunk);
      world->crashes.push_back(repro);
      ADD_FAILURE() << "dbproxyd crashed: " << repro;
      return;
    }
    if (world->client.peer_closed()) {
      problems.push_back("the daemon closed the connection during a chunk starting with " +
                         chunk.front()->what);
      (void)Connect();
    }
    for (const auto& [seq, outcome] : outcomes) {
      std::string problem = CheckOutcome(c, outcome, &stats);
      if (!problem.empty()) {
        problems.push_back(outcome.variant->what + " (" +
                           std::to_string(outcome.variant->body.size()) +
                           " bytes: " + HexPrefix(outcome.variant->body, 24) + "): " + problem);
      }
    }
  }
  // Late or duplicate answers: anything still arriving now is one too many.
  while (std::optional<Frame> f = world->client.ReadFrame(c.response_cmd == 0 ? 300 : 100, true)) {
    problems.push_back("late frame seq " + std::to_string(f->seq) + " cmd " + Hex16(f->command_id));
  }

  // The same connection still answers a valid request.
  const CommandCase* check = c.response_cmd != 0 ? &c : ProbeCase();
  if (check != nullptr) {
    uint16_t seq = NextSeq();
    std::optional<Frame> answer;
    if (world->client.SendFrame(check->service_id, check->request_cmd, seq,
                                check->valid_body(NextRound()))) {
      answer = world->client.ReadFrame(kAnswerTimeoutMs, true);
    }
    std::unique_ptr<MessageLite> response = check->new_response();
    if (!answer || answer->seq != seq || !CheckResponseHeader(*check, *answer, seq).empty() ||
        !ParsesWhole(response.get(), answer->body)) {
      problems.push_back("after the batch a valid " + check->name() +
                         " on the same connection is not answered properly");
      (void)Connect();
    } else if (check->request_cmd == 0x0301) {
      world->ledger.Record(static_cast<const IM::Message::IMMsgData&>(*response));
    }
  }
  if (!DaemonAlive()) {
    ADD_FAILURE() << c.name() << " " << batch_name << ": dbproxyd is not running after the batch";
    (void)StartDaemon();
  }
  std::printf("[ hostile ] %s %s: %d sent, %d answered, %d valid requests, %d failure values\n",
              c.name().c_str(), batch_name.c_str(), stats.sent, stats.answered,
              stats.valid_requests, stats.failure_answers);
  if (!problems.empty()) {
    std::ostringstream text;
    text << c.name() << " " << batch_name << ": " << problems.size() << " of " << variants.size()
         << " requests went wrong:";
    for (size_t i = 0; i < problems.size() && i < kMaxProblemsShown; ++i) {
      text << "\n  " << problems[i];
    }
    ADD_FAILURE() << text.str();
  }
}

// valid plus an unknown field (99) that makes the body exactly the largest a frame carries.
std::string PadToFrameLimit(const std::string& valid) {
  size_t room = kMaxBody - valid.size();
  // The pad's length takes as many varint bytes as room does (both about 1 MiB).
  size_t pad = room - Varint((99u << 3) | 2).size() - Varint(room).size();
  std::string body = valid + BytesField(99, std::string(pad, 'p'));
  EXPECT_EQ(body.size(), kMaxBody);
  return body;
}

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world = new World();
    world->db = TestDatabase::Create();
    world->redis = TestRedis::Create();
    world->options.plugins = BuiltModules();
    world->options.workers = 4;
    world->ledger.Start(world->db.get());
    ASSERT_TRUE(StartDaemon()) << world->client.last_error();
  }

  static void TearDownTestSuite() {
    if (!world->crashes.empty()) {
      std::printf("[ fault ] dbproxyd crash reproductions:\n");
      for (const std::string& c : world->crashes) {
        std::printf("  %s\n", c.c_str());
      }
    }
    delete world;
    world = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(world->daemon, nullptr);
    if (!DaemonAlive()) {
      ASSERT_TRUE(StartDaemon());
    }
  }

  // After every command: the message rows are exactly the sends answered with an id.
  void TearDown() override { world->ledger.Verify(); }
};

class HostileBodies : public HostileInput, public ::testing::WithParamInterface<size_t> {};

TEST_P(HostileBodies, AnswerEveryBodyOnceWithItsFailureValueAndStoreNothingUnreported) {
  const CommandCase& c = Catalog()[GetParam()];
  if (!ModuleBuilt(c.module)) {
    GTEST_SKIP() << "module " << c.module << " is not built in this tree";
  }
  const std::string valid = c.valid_body(NextRound());
  std::mt19937 rng(0x5eed0000u + c.request_cmd);

  RunBatch(c, "empty body", {Variant{"empty body", ""}});
  RunBatch(c, "random bodies", RandomBodies(&rng, kRandomBodies));
  RunBatch(c, "truncated bodies", Truncations(valid));
  RunBatch(c, "missing fields", MissingFieldVariants(valid));
  RunBatch(c, "edge values", EdgeValueVariants(valid, kMaxBody));
  RunBatch(c, "largest body",
           {Variant{"valid body padded to the frame limit with an unknown field",
                    PadToFrameLimit(valid)}});
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  return Hex16(Catalog()[info.param].request_cmd).substr(2);
}

INSTANTIATE_TEST_SUITE_P(EveryCommand, HostileBodies, ::testing::Range<size_t>(0, Catalog().size()),
                         CaseName);

// ---- Frames the codec must refuse, commands nobody serves --------------------------------

std::string HeaderWithLength(uint32_t length, uint16_t command) {
  Frame f = WireClient::MakeFrame(3, command, 1, "");
  f.length = length;
  return WireClient::EncodeFrame(f);
}

// The shared connection answers the probe command properly.
void ExpectSharedConnectionAnswers(const std::string& after) {
  const CommandCase* probe = ProbeCase();
  ASSERT_NE(probe, nullptr);
  std::optional<Frame> answer = world->client.Call(probe->service_id, probe->request_cmd,
                                                   probe->valid_body(NextRound()), 5000);
  ASSERT_TRUE(answer.has_value()) << "no answer to " << probe->name() << " after " << after;
  EXPECT_EQ(CheckResponseHeader(*probe, *answer, world->client.last_seq()), "");
}

TEST_F(HostileInput, ImpossibleLengthsCloseOnlyTheirOwnConnection) {
  for (uint32_t length : {0u, 1u, 8u, 15u, kMaxFrameBytes + 1, 0x7fffffffu, 0xffffffffu}) {
    WireClient bad;
    ASSERT_TRUE(bad.Connect(world->daemon->port()));
    ASSERT_TRUE(bad.SendRaw(HeaderWithLength(length, 0x0301) + std::string(64, 'x')));
    EXPECT_TRUE(bad.IsClosed(5000)) << "length " << length << " did not close the connection";
    ASSERT_TRUE(DaemonAlive()) << "length " << length << " killed dbproxyd";
    ExpectSharedConnectionAnswers("a frame of length " + std::to_string(length));
  }
  // Half a frame, then the peer goes away.
  {
    WireClient half;
    ASSERT_TRUE(half.Connect(world->daemon->port()));
    ASSERT_TRUE(half.SendRaw(HeaderWithLength(kMaxFrameBytes, 0x0301) + std::string(1000, 'y')));
  }
  ASSERT_TRUE(DaemonAlive());
  ExpectSharedConnectionAnswers("a peer left half a frame");
}

TEST_F(HostileInput, UnknownAndInternalCommandsAreDroppedAndTheConnectionStays) {
  std::mt19937 rng(0x5eedf00du);
  std::vector<Variant> bodies = RandomBodies(&rng, 4);
  bodies.push_back({"empty body", ""});
  const uint16_t commands[] = {0x0000, 0x0001, 0x0101, 0x0302, 0x0702, 0x0704, 0x0712,
                               0x0800, 0xf000, 0xf001, 0xf010, 0xf011, 0xffff};
  for (uint16_t cmd : commands) {
    for (const Variant& v : bodies) {
      ASSERT_TRUE(world->client.SendFrame(7, cmd, NextSeq(), v.body));
    }
  }
  const CommandCase* probe = ProbeCase();
  ASSERT_NE(probe, nullptr);
  uint16_t seq = NextSeq();
  ASSERT_TRUE(world->client.SendFrame(probe->service_id, probe->request_cmd, seq,
                                      probe->valid_body(NextRound())));
  std::optional<Frame> answer = world->client.ReadFrame(5000, true);
  ASSERT_TRUE(answer.has_value()) << "the connection stopped answering";
  EXPECT_EQ(answer->seq, seq) << "an unknown command was answered with command "
                              << Hex16(answer->command_id);
  std::optional<Frame> late = world->client.ReadFrame(300, true);
  EXPECT_FALSE(late.has_value()) << "an unknown command was answered with command "
                                 << Hex16(late->command_id);
  EXPECT_TRUE(DaemonAlive());
  // The clear error is the daemon's log line naming the command.
  // (Rate-limited per minute: the first command sent is the one sure to be named.)
  EXPECT_NE(world->daemon->ReadLog().find("cmd=0x0000"), std::string::npos);
}

// ---- Ids nobody has ------------------------------------------------------------------

// A write or lookup for user 2^32-1 (no such user, not a member, not a creator) is the
// command's failure, not a success that changed nothing.
TEST_F(HostileInput, UnknownUserIdsGetTheFailureValue) {
  for (const CommandCase& c : Catalog()) {
    bool applies = false;
    for (uint16_t cmd : {0x0213, 0x020c, 0x010c, 0x010e, 0x0206, 0x0409, 0x0407}) {
      applies |= c.request_cmd == cmd;
    }
    if (!applies || !ModuleBuilt(c.module)) {
      continue;
    }
    std::optional<std::vector<WireField>> fields = SplitFields(c.valid_body(NextRound()));
    ASSERT_TRUE(fields.has_value());
    for (WireField& f : *fields) {
      if (f.number == 1) {  // user_id in each of these requests
        f.bytes = VarintField(1, 0xffffffffu);
      }
    }
    std::optional<Frame> answer =
        world->client.Call(c.service_id, c.request_cmd, JoinFields(*fields), 10000);
    ASSERT_TRUE(answer.has_value()) << c.name() << ": no answer";
    std::unique_ptr<MessageLite> response = c.new_response();
    ASSERT_TRUE(ParsesWhole(response.get(), answer->body)) << c.name();
    EXPECT_EQ(c.failure_problem(*response), "") << c.name() << " for user 4294967295";
  }
}

// ---- SQL metacharacters through every text column a request writes -----------------------

template <class Rsp, class Req>
std::optional<Rsp> CallOnce(uint16_t sid, uint16_t cmd, const Req& request) {
  std::optional<Frame> answer = world->client.Call(sid, cmd, request.SerializeAsString(), 10000);
  Rsp response;
  if (!answer || !response.ParseFromString(answer->body)) {
    ADD_FAILURE() << Hex16(cmd) << ": no answer that parses";
    return std::nullopt;
  }
  return response;
}

std::string ColumnHex(const std::string& sql) {
  return world->db->QueryValue(sql).value_or("(no row)");
}

TEST_F(HostileInput, SqlMetacharactersAreStoredByteExactOrRefusedWithoutAChange) {
  std::vector<std::string> nasty = NastyStrings();
  std::string outcomes;  // per string: S stored, R refused, for sign / avatar / message / group
  for (size_t i = 0; i < nasty.size(); ++i) {
    const std::string& s = nasty[i];
    outcomes += "\n  #" + std::to_string(i) + " " + HexPrefix(s, 12) + ":";
    SCOPED_TRACE("nasty string #" + std::to_string(i) + " " + HexPrefix(s, 32));
    if (ModuleBuilt("user")) {
      IM::Buddy::IMChangeSignInfoReq sign;
      sign.set_user_id(20);
      sign.set_sign_info(s);
      std::string before = ColumnHex("SELECT HEX(sign_info) FROM IMUser WHERE id = 20");
      auto r = CallOnce<IM::Buddy::IMChangeSignInfoRsp>(2, 0x0213, sign);
      std::string after = ColumnHex("SELECT HEX(sign_info) FROM IMUser WHERE id = 20");
      outcomes += r && r->result_code() == 0 ? " sign S" : " sign R";
      if (r && r->result_code() == 0) {
        EXPECT_EQ(after, HexAll(s)) << "0x0213 answered success but stored other bytes";
      } else if (r) {
        EXPECT_EQ(after, before) << "0x0213 answered failure but changed sign_info";
      }

      IM::Buddy::IMChangeAvatarReq avatar;
      avatar.set_user_id(21);
      avatar.set_avatar_url(s);
      before = ColumnHex("SELECT HEX(avatar) FROM IMUser WHERE id = 21");
      auto a = CallOnce<IM::Buddy::IMChangeAvatarRsp>(2, 0x020c, avatar);
      after = ColumnHex("SELECT HEX(avatar) FROM IMUser WHERE id = 21");
      outcomes += a && a->result_code() == 0 ? " avatar S" : " avatar R";
      if (a && a->result_code() == 0) {
        EXPECT_EQ(after, HexAll(s)) << "0x020c answered success but stored other bytes";
      } else if (a) {
        EXPECT_EQ(after, before) << "0x020c answered failure but changed avatar";
      }
    }
    if (ModuleBuilt("login")) {
      IM::Server::IMValidateReq login;
      login.set_user_name(s);
      login.set_password(std::string(kClientPassword));
      auto r = CallOnce<IM::Server::IMValidateRsp>(7, 0x0703, login);
      if (r) {
        EXPECT_NE(r->result_code(), 0u) << "0x0703 logged in a user named by an injection";
        EXPECT_FALSE(r->has_user_info());
      }
    }
    if (!s.empty()) {
      IM::Message::IMMsgData m;
      m.set_from_user_id(1);
      m.set_to_session_id(5);
      m.set_msg_id(0);
      m.set_create_time(1700000100);
      m.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
      m.set_msg_data(s);
      auto r = CallOnce<IM::Message::IMMsgData>(3, 0x0301, m);
      outcomes += r && r->msg_id() != 0 ? " message S" : " message R";
      if (r) {
        world->ledger.Record(*r);  // TearDown() checks the row holds exactly these bytes
        if (r->msg_id() != 0) {
          IM::Message::IMGetMsgByIdReq get;
          get.set_user_id(5);
          get.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
          get.set_session_id(1);
          get.add_msg_id_list(r->msg_id());
          auto g = CallOnce<IM::Message::IMGetMsgByIdRsp>(3, 0x030d, get);
          ASSERT_TRUE(g && g->msg_list_size() == 1) << "stored message not readable";
          EXPECT_EQ(HexAll(g->msg_list(0).msg_data()), HexAll(s)) << "0x030d returned other bytes";
        }
      }
    }
    if (ModuleBuilt("group_chat")) {
      IM::Group::IMGroupCreateReq create;
      create.set_user_id(1);
      create.set_group_type(IM::BaseDefine::GROUP_TYPE_NORMAL);
      create.set_group_name(s);
      create.set_group_avatar(s);
      create.add_member_id_list(1);
      create.add_member_id_list(2);
      std::string groups_before = ColumnHex("SELECT COUNT(*) FROM IMGroup");
      auto r = CallOnce<IM::Group::IMGroupCreateRsp>(4, 0x0405, create);
      outcomes += r && r->result_code() == 0 ? " group S" : " group R";
      if (r && r->result_code() == 0) {
        EXPECT_EQ(
            ColumnHex("SELECT HEX(name) FROM IMGroup WHERE id = " + std::to_string(r->group_id())),
            HexAll(s))
            << "0x0405 answered success but stored another name";
      } else if (r) {
        EXPECT_EQ(ColumnHex("SELECT COUNT(*) FROM IMGroup"), groups_before)
            << "0x0405 answered failure but created a group";
      }
    }
  }
  EXPECT_EQ(world->db->QueryValue("SELECT COUNT(*) FROM IMUser"), "1000");
  std::printf("[ hostile ] nasty strings (S stored byte-exact, R refused, nothing changed):%s\n",
              outcomes.c_str());
}

TEST_F(HostileInput, OfflineFileTaskIdsAreMatchedExactlyNotAsSql) {
  if (!ModuleBuilt("file")) {
    GTEST_SKIP() << "module file is not built in this tree";
  }
  auto add = [](const std::string& task) {
    IM::File::IMFileAddOfflineReq r;
    r.set_from_user_id(30);
    r.set_to_user_id(31);
    r.set_task_id(task);
    r.set_file_name(task);
    r.set_file_size(1);
    return world->client.SendFrame(5, 0x050b, NextSeq(), r.SerializeAsString());
  };
  auto list = [] {
    IM::File::IMFileHasOfflineReq r;
    r.set_user_id(31);
    return CallOnce<IM::File::IMFileHasOfflineRsp>(5, 0x0509, r);
  };
  // 0x050b has no answer and no order key: its effect is awaited in the table (a refused
  // one leaves none, so the wait is capped).
  auto rows = [](const std::string& task) {
    return ColumnHex(
        "SELECT COUNT(*) FROM IMTransmitFile WHERE fromId = 30 AND toId = 31 AND "
        "HEX(taskId) = '" +
        HexAll(task) + "'");
  };
  auto await = [&](const std::string& task, bool present, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while ((rows(task) != "0") != present && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
    }
  };
  ASSERT_TRUE(add("decoy-task"));
  await("decoy-task", true, 3000);
  for (const std::string& s : NastyStrings()) {
    ASSERT_TRUE(add(s));
    await(s, true, 500);
  }
  auto listed = list();
  ASSERT_TRUE(listed.has_value());
  std::set<std::string> tasks;
  for (const auto& f : listed->offline_file_list()) {
    tasks.insert(f.task_id());
    EXPECT_EQ(f.task_id(), f.file_name()) << "task and file name were stored differently";
  }
  EXPECT_EQ(tasks.count("decoy-task"), 1u);
  for (const std::string& s : NastyStrings()) {
    std::string stored = ColumnHex(
        "SELECT COUNT(*) FROM IMTransmitFile WHERE toId = 31 AND "
        "HEX(taskId) = '" +
        HexAll(s) + "'");
    EXPECT_EQ(tasks.count(s), stored == "0" ? 0u : 1u)
        << "task " << HexPrefix(s, 24) << ": listed and stored disagree (" << stored << " rows)";
  }
  // Deleting by an injected task id deletes only a task of exactly that id.
  IM::File::IMFileDelOfflineReq del;
  del.set_from_user_id(30);
  del.set_to_user_id(31);
  del.set_task_id("' OR '1'='1");
  ASSERT_TRUE(world->client.SendFrame(5, 0x050c, NextSeq(), del.SerializeAsString()));
  if (rows(del.task_id()) != "0") {
    await(del.task_id(), false, 3000);
  }
  auto after = list();
  ASSERT_TRUE(after.has_value());
  bool decoy_left = false;
  for (const auto& f : after->offline_file_list()) {
    decoy_left |= f.task_id() == "decoy-task";
    EXPECT_NE(f.task_id(), "' OR '1'='1") << "the injected task id was not deleted";
  }
  EXPECT_TRUE(decoy_left) << "deleting task \"' OR '1'='1\" deleted other tasks";
}

}  // namespace
}  // namespace dbproxy::testing::fault
