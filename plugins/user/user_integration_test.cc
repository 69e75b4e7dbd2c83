// user over the wire against a real dbproxyd, MariaDB and Redis: 0x0204 users by id, 0x0208
// changed users (MySQL-backed marker, batching, paging), 0x0210 departments, 0x0213 sign
// info, 0x020c avatar.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidBuddy = 2;
constexpr uint16_t kUsersInfo = 0x0204;
constexpr uint16_t kUsersInfoRsp = 0x0205;
constexpr uint16_t kAllUser = 0x0208;
constexpr uint16_t kAllUserRsp = 0x0209;
constexpr uint16_t kChangeAvatar = 0x020c;
constexpr uint16_t kChangeAvatarRsp = 0x020d;
constexpr uint16_t kDepartment = 0x0210;
constexpr uint16_t kDepartmentRsp = 0x0211;
constexpr uint16_t kSignInfo = 0x0213;
constexpr uint16_t kSignInfoRsp = 0x0214;

constexpr uint32_t kDemoUpdated = 1700000000;  // `updated` of every demo user and department
const std::string kAttach("\x00\x01\x02\xff attach", 11);

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

using Ids = std::vector<uint32_t>;

template <class List>
Ids UserIds(const List& users) {
  Ids ids;
  for (const auto& u : users) {
    ids.push_back(u.user_id());
  }
  return ids;
}

Ids Range(uint32_t first, uint32_t last) {
  Ids ids;
  for (uint32_t i = first; i <= last; ++i) {
    ids.push_back(i);
  }
  return ids;
}

std::string Str(const std::optional<std::string>& v) { return v.value_or(""); }
uint32_t Num(const std::optional<std::string>& v) { return v ? std::stoul(*v) : 0; }

// The UserInfo a row of IMUser must produce (spec H01 mapping, status = the column value).
IM::BaseDefine::UserInfo ExpectedUser(TestDatabase& db, uint32_t id) {
  auto rows = db.Query(
      "SELECT id, sex, nick, avatar, departId, email, name, phone, domain, status, sign_info "
      "FROM IMUser WHERE id = " +
      std::to_string(id));
  IM::BaseDefine::UserInfo u;
  if (rows.size() != 1) {
    ADD_FAILURE() << "no user " << id;
    return u;
  }
  const auto& r = rows[0];
  u.set_user_id(Num(r[0]));
  u.set_user_gender(Num(r[1]));
  u.set_user_nick_name(Str(r[2]));
  u.set_avatar_url(Str(r[3]));
  u.set_department_id(Num(r[4]));
  u.set_email(Str(r[5]));
  u.set_user_real_name(Str(r[6]));
  u.set_user_tel(Str(r[7]));
  u.set_user_domain(Str(r[8]));
  u.set_status(Num(r[9]));
  u.set_sign_info(Str(r[10]));
  return u;
}

void ExpectSameUser(const IM::BaseDefine::UserInfo& got, const IM::BaseDefine::UserInfo& want) {
  EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << "got:\n"
                                                               << got.DebugString() << "want:\n"
                                                               << want.DebugString();
}

// One daemon per configuration, shared by the tests that use it.
class UserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"user"};
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete redis_;
    delete db_;
    daemon_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running());
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  // Calls and checks the answer's header: seq echoed, service and command ids as the spec.
  template <class Req, class Rsp>
  static void Call(WireClient& client, uint16_t cmd, const Req& req, uint16_t rsp_cmd, Rsp* rsp,
                   int timeout_ms = 10000) {
    WireClient::Frame frame;
    ASSERT_TRUE(client.CallMessage(kSidBuddy, cmd, req, rsp, timeout_ms, &frame));
    EXPECT_EQ(frame.service_id, kSidBuddy);
    EXPECT_EQ(frame.command_id, rsp_cmd);
    EXPECT_EQ(frame.seq, client.last_seq());
  }

  static IM::Buddy::IMUsersInfoRsp UsersInfo(WireClient& client, const Ids& ids,
                                             const std::string& attach = kAttach) {
    IM::Buddy::IMUsersInfoReq req;
    req.set_user_id(1);
    for (uint32_t id : ids) {
      req.add_user_id_list(id);
    }
    if (!attach.empty()) {
      req.set_attach_data(attach);
    }
    IM::Buddy::IMUsersInfoRsp rsp;
    Call(client, kUsersInfo, req, kUsersInfoRsp, &rsp);
    return rsp;
  }

  static IM::Buddy::IMAllUserRsp AllUsers(WireClient& client, uint32_t since,
                                          WireClient::Frame* frame = nullptr) {
    IM::Buddy::IMAllUserReq req;
    req.set_user_id(2);
    req.set_latest_update_time(since);
    req.set_attach_data(kAttach);
    IM::Buddy::IMAllUserRsp rsp;
    WireClient::Frame f;
    EXPECT_TRUE(client.CallMessage(kSidBuddy, kAllUser, req, &rsp, 30000, &f));
    EXPECT_EQ(f.command_id, kAllUserRsp);
    EXPECT_EQ(rsp.user_id(), 2u);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    if (frame != nullptr) {
      *frame = f;
    }
    return rsp;
  }

  static IM::Buddy::IMChangeSignInfoRsp SignInfo(WireClient& client, uint32_t user,
                                                 const std::string& sign) {
    IM::Buddy::IMChangeSignInfoReq req;
    req.set_user_id(user);
    req.set_sign_info(sign);
    req.set_attach_data(kAttach);
    IM::Buddy::IMChangeSignInfoRsp rsp;
    Call(client, kSignInfo, req, kSignInfoRsp, &rsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    return rsp;
  }

  static IM::Buddy::IMChangeAvatarRsp Avatar(WireClient& client, uint32_t user,
                                             const std::string& url) {
    IM::Buddy::IMChangeAvatarReq req;
    req.set_user_id(user);
    req.set_avatar_url(url);
    req.set_attach_data(kAttach);
    IM::Buddy::IMChangeAvatarRsp rsp;
    Call(client, kChangeAvatar, req, kChangeAvatarRsp, &rsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    return rsp;
  }

  static IM::Buddy::IMDepartmentRsp Departments(WireClient& client, uint32_t since) {
    IM::Buddy::IMDepartmentReq req;
    req.set_user_id(4);
    req.set_latest_update_time(since);
    req.set_attach_data(kAttach);
    IM::Buddy::IMDepartmentRsp rsp;
    Call(client, kDepartment, req, kDepartmentRsp, &rsp);
    EXPECT_EQ(rsp.user_id(), 4u);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    return rsp;
  }

  // Users of a 0x0208 answer with latest_update_time 0 should be exactly these.
  static Ids ActiveUserIds(TestDatabase& db) {
    Ids ids;
    for (const auto& row : db.Query("SELECT id FROM IMUser WHERE status IS NULL OR status <> 3 "
                                    "ORDER BY id")) {
      ids.push_back(Num(row[0]));
    }
    return ids;
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* UserTest::db_ = nullptr;
TestRedis* UserTest::redis_ = nullptr;
DaemonProcess* UserTest::daemon_ = nullptr;

// ---- 0x0204 ---------------------------------------------------------------------------

TEST_F(UserTest, UsersInfoAnswersExistingUsersInIdOrderWithEveryField) {
  db_->Exec(
      "UPDATE IMUser SET phone = '13800000011', sign_info = 'hi there', status = 2, "
      "avatar = 'http://a/11.png' WHERE id = 11");
  auto rsp = UsersInfo(client_, {12, 11, 99999, 11, 0});
  EXPECT_EQ(rsp.user_id(), 1u);
  EXPECT_EQ(rsp.attach_data(), kAttach);
  ASSERT_EQ(UserIds(rsp.user_info_list()), (Ids{11, 12}));
  ExpectSameUser(rsp.user_info_list(0), ExpectedUser(*db_, 11));
  ExpectSameUser(rsp.user_info_list(1), ExpectedUser(*db_, 12));
  EXPECT_EQ(rsp.user_info_list(0).status(), 2u) << "status is the column value, not forced";
  EXPECT_EQ(rsp.user_info_list(0).user_real_name(), "user11") << "the login name";
}

TEST_F(UserTest, UsersInfoReadsSqlNullAsEmptyAndZero) {
  db_->Exec("UPDATE IMUser SET avatar = NULL, status = NULL WHERE id = 13");
  auto rsp = UsersInfo(client_, {13});
  ASSERT_EQ(rsp.user_info_list_size(), 1);
  EXPECT_EQ(rsp.user_info_list(0).avatar_url(), "");
  EXPECT_EQ(rsp.user_info_list(0).status(), 0u);
  EXPECT_EQ(rsp.user_info_list(0).user_nick_name(), "nick13");
}

TEST_F(UserTest, UsersInfoWithoutIdsAnswersAnEmptyListWithAttachPresent) {
  auto rsp = UsersInfo(client_, {}, "");
  EXPECT_EQ(rsp.user_info_list_size(), 0);
  EXPECT_TRUE(rsp.has_attach_data()) << "field 20 is always set, like TeamTalk";
  EXPECT_EQ(rsp.attach_data(), "");
}

TEST_F(UserTest, UsersInfoCapsTheIdListAtMaxUsersPerRequest) {
  Ids ids = Range(1, 1500);  // 1001..1500 do not exist; the first 1000 distinct ids are kept
  std::reverse(ids.begin(), ids.end());
  auto rsp = UsersInfo(client_, ids);
  EXPECT_EQ(UserIds(rsp.user_info_list()), Range(1, 1000));
}

TEST_F(UserTest, UsersInfoWithABodyThatDoesNotParseAnswersAnEmptyList) {
  auto frame = client_.Call(kSidBuddy, kUsersInfo, std::string("\x08", 1));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->command_id, kUsersInfoRsp);
  IM::Buddy::IMUsersInfoRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.user_info_list_size(), 0);
}

// ---- 0x0208 ---------------------------------------------------------------------------

TEST_F(UserTest, AllUsersFromZeroListsEveryUserNotResigned) {
  db_->Exec("UPDATE IMUser SET status = 3 WHERE id = 21");
  db_->Exec("UPDATE IMUser SET status = NULL WHERE id = 22");
  auto rsp = AllUsers(client_, 0);
  Ids got = UserIds(rsp.user_list());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, ActiveUserIds(*db_));
  EXPECT_EQ(std::count(got.begin(), got.end(), 21u), 0) << "status 3 (resigned) is left out";
  EXPECT_EQ(std::count(got.begin(), got.end(), 22u), 1) << "NULL status counts as 0";
  EXPECT_GE(got.size(), 990u);
  EXPECT_EQ(
      rsp.latest_update_time(),
      Num(db_->QueryValue("SELECT MAX(updated) FROM IMUser WHERE status IS NULL OR status <> 3")));
  for (const auto& u : rsp.user_list()) {
    if (u.user_id() == 500) {
      ExpectSameUser(u, ExpectedUser(*db_, 500));
    }
  }
}

TEST_F(UserTest, AllUsersSeesARowEditedDirectlyInMysqlEvenAfterARestart) {
  uint32_t max_before = Num(db_->QueryValue("SELECT MAX(updated) FROM IMUser"));
  uint32_t client_time = max_before + 1;  // the client is up to date
  auto nothing = AllUsers(client_, client_time);
  EXPECT_EQ(nothing.user_list_size(), 0);
  EXPECT_EQ(nothing.latest_update_time(), client_time);

  // The web admin edits a user behind dbproxy's back.
  uint32_t edited_at = std::max(Now(), client_time + 5);
  db_->Exec("UPDATE IMUser SET nick = 'edited in mysql', updated = " + std::to_string(edited_at) +
            " WHERE id = 31");
  auto changed = AllUsers(client_, client_time);
  ASSERT_EQ(UserIds(changed.user_list()), Ids{31});
  EXPECT_EQ(changed.user_list(0).user_nick_name(), "edited in mysql");
  EXPECT_EQ(changed.latest_update_time(), edited_at);

  // The marker lives in MySQL, so a restart changes nothing (TeamTalk forgot it, W18).
  ASSERT_EQ(daemon_->Stop(), 0);
  DaemonOptions options;
  options.plugins = {"user"};
  ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  WireClient again;
  ASSERT_TRUE(again.Connect(daemon_->port()));
  auto after_restart = AllUsers(again, client_time);
  EXPECT_EQ(UserIds(after_restart.user_list()), Ids{31});
  // Inclusive like TeamTalk: asking with the answer's time repeats that second only.
  auto repeat = AllUsers(again, edited_at);
  EXPECT_EQ(UserIds(repeat.user_list()), Ids{31});
  EXPECT_EQ(repeat.latest_update_time(), edited_at);
}

TEST_F(UserTest, AllUsersIncrementalIncludesEveryStatus) {
  uint32_t t = std::max(Now(), Num(db_->QueryValue("SELECT MAX(updated) FROM IMUser")) + 1);
  db_->Exec("UPDATE IMUser SET status = 3, updated = " + std::to_string(t) + " WHERE id = 41");
  auto rsp = AllUsers(client_, t);
  EXPECT_EQ(UserIds(rsp.user_list()), Ids{41});
  EXPECT_EQ(rsp.user_list(0).status(), 3u);
}

// ---- 0x0210 ---------------------------------------------------------------------------

TEST_F(UserTest, DepartmentsChangedAfterTheTimeSkipStatusesOtherThanZeroAndOne) {
  db_->Exec(
      "INSERT INTO IMDepart (id, departName, priority, parentId, status, created, updated) VALUES "
      "(3, 'dept''s \"three\"', 7, 1, 5, 1700000000, 1700000100), "
      "(4, 'dept-4', 9, 2, 1, 1700000000, 1700000050)");
  auto all = Departments(client_, 0);
  ASSERT_EQ(all.dept_list_size(), 3);
  EXPECT_EQ(all.dept_list(0).dept_id(), 1u);
  EXPECT_EQ(all.dept_list(1).dept_id(), 2u);
  const auto& d4 = all.dept_list(2);
  EXPECT_EQ(d4.dept_id(), 4u);
  EXPECT_EQ(d4.dept_name(), "dept-4");
  EXPECT_EQ(d4.priority(), 9u);
  EXPECT_EQ(d4.parent_dept_id(), 2u);
  EXPECT_EQ(d4.dept_status(), IM::BaseDefine::DEPT_STATUS_DELETE);
  EXPECT_EQ(all.dept_list(0).dept_name(), "dept-1");
  EXPECT_EQ(all.dept_list(0).dept_status(), IM::BaseDefine::DEPT_STATUS_OK);
  EXPECT_EQ(all.latest_update_time(), 1700000100u) << "raised by the skipped row too";

  auto strict = Departments(client_, 1700000050);  // strictly after: dept 4 is not repeated
  EXPECT_EQ(strict.dept_list_size(), 0);
  EXPECT_EQ(strict.latest_update_time(), 1700000100u);
  auto none = Departments(client_, 1700000100);
  EXPECT_EQ(none.dept_list_size(), 0);
  EXPECT_EQ(none.latest_update_time(), 1700000100u);
}

// ---- 0x0213 ---------------------------------------------------------------------------

TEST_F(UserTest, SignInfoIsStoredVerbatimAndBumpsTheMarkers) {
  const std::string sign = "it's a \"sign\"'); DROP TABLE IMUser; -- \\ \xe4\xbd\xa0\xe5\xa5\xbd";
  uint32_t before = Now();
  auto rsp = SignInfo(client_, 51, sign);
  EXPECT_EQ(rsp.result_code(), 0u);
  ASSERT_TRUE(rsp.has_sign_info());
  EXPECT_EQ(rsp.sign_info(), sign);
  EXPECT_EQ(Str(db_->QueryValue("SELECT sign_info FROM IMUser WHERE id = 51")), sign);
  EXPECT_GE(Num(db_->QueryValue("SELECT updated FROM IMUser WHERE id = 51")), before);
  EXPECT_EQ(Num(db_->QueryValue("SELECT COUNT(*) FROM IMUser")), 1000u);
  auto marker = redis_->Command(redis_->db("unread"), "GET", "total_user_update");
  ASSERT_FALSE(marker.is_nil());
  EXPECT_GE(std::stoul(marker.str), before);

  // A client that synced before the change gets the user in its next 0x0208.
  auto changed = AllUsers(client_, before);
  Ids ids = UserIds(changed.user_list());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 51u), 1);
}

TEST_F(UserTest, SignInfoSameValueTwiceSucceedsBothTimes) {
  EXPECT_EQ(SignInfo(client_, 52, "same").result_code(), 0u);
  auto again = SignInfo(client_, 52, "same");  // 0 rows changed, 1 row matched (W36)
  EXPECT_EQ(again.result_code(), 0u);
  EXPECT_EQ(again.sign_info(), "same");
}

TEST_F(UserTest, SignInfoOf128BytesIsTakenAnd129Refused) {
  std::string ok;
  for (int i = 0; i < 42; ++i) {
    ok += "\xe8\xaf\xad";  // 3 bytes each
  }
  ok += "ab";  // 128 bytes, 44 characters
  EXPECT_EQ(SignInfo(client_, 53, ok).result_code(), 0u);
  EXPECT_EQ(Str(db_->QueryValue("SELECT sign_info FROM IMUser WHERE id = 53")), ok);

  auto too_long = SignInfo(client_, 53, ok + "c");
  EXPECT_EQ(too_long.result_code(), 1u);
  EXPECT_FALSE(too_long.has_sign_info()) << "sign_info only on success";
  EXPECT_EQ(Str(db_->QueryValue("SELECT sign_info FROM IMUser WHERE id = 53")), ok);
}

TEST_F(UserTest, SignInfoOfAnUnknownUserFails) {
  auto rsp = SignInfo(client_, 987654, "nobody");
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_FALSE(rsp.has_sign_info());
}

TEST_F(UserTest, SignInfoWithABodyThatDoesNotParseAnswersFailure) {
  IM::Buddy::IMChangeSignInfoReq partial;  // sign_info (required) missing
  partial.set_user_id(54);
  auto frame = client_.Call(kSidBuddy, kSignInfo, partial.SerializePartialAsString());
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->command_id, kSignInfoRsp);
  IM::Buddy::IMChangeSignInfoRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.user_id(), 54u) << "what could be read is echoed";
}

// ---- 0x020c ---------------------------------------------------------------------------

TEST_F(UserTest, AvatarIsStoredVerbatimAndAnswered) {
  const std::string url = "http://img/a'b\"c.png?x=1';DELETE FROM IMUser;--";
  uint32_t before = Now();
  auto rsp = Avatar(client_, 61, url);
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(Str(db_->QueryValue("SELECT avatar FROM IMUser WHERE id = 61")), url);
  EXPECT_GE(Num(db_->QueryValue("SELECT updated FROM IMUser WHERE id = 61")), before);
  EXPECT_EQ(Num(db_->QueryValue("SELECT COUNT(*) FROM IMUser")), 1000u);
  auto info = UsersInfo(client_, {61});
  ASSERT_EQ(info.user_info_list_size(), 1);
  EXPECT_EQ(info.user_info_list(0).avatar_url(), url);
  // Same value again: still success (W36).
  EXPECT_EQ(Avatar(client_, 61, url).result_code(), 0u);
}

TEST_F(UserTest, AvatarLongerThan255BytesOrOfAnUnknownUserFails) {
  EXPECT_EQ(Avatar(client_, 62, std::string(255, 'a')).result_code(), 0u);
  EXPECT_EQ(Avatar(client_, 62, std::string(256, 'b')).result_code(), 1u);
  EXPECT_EQ(Str(db_->QueryValue("SELECT avatar FROM IMUser WHERE id = 62")), std::string(255, 'a'));
  EXPECT_EQ(Avatar(client_, 987654, "http://x").result_code(), 1u);
}

TEST_F(UserTest, ProfileChangesSucceedWhileRedisIsDown) {
  auto unread = TcpProxy::Start(redis_->env().redis_host, redis_->env().redis_port);
  ASSERT_NE(unread, nullptr);
  DaemonOptions options;
  options.plugins = {"user"};
  options.redis_ports["unread"] = unread->port();
  client_.Close();
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  ASSERT_TRUE(client_.Connect(daemon_->port()));
  unread->Cut();
  // MySQL holds the change; the compatibility marker is only logged and counted.
  EXPECT_EQ(SignInfo(client_, 71, "redis is down").result_code(), 0u);
  EXPECT_EQ(Avatar(client_, 71, "http://down").result_code(), 0u);
  EXPECT_EQ(Str(db_->QueryValue("SELECT sign_info FROM IMUser WHERE id = 71")), "redis is down");
  client_.Close();
  ASSERT_EQ(daemon_->Stop(), 0);
  options.redis_ports.clear();
  ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  ASSERT_TRUE(client_.Connect(daemon_->port()));
}

// ---- storage errors -------------------------------------------------------------------

TEST_F(UserTest, StorageErrorsAnswerTheFailureOfEachCommand) {
  db_->Exec("RENAME TABLE IMUser TO IMUser_away, IMDepart TO IMDepart_away");
  struct Restore {
    TestDatabase* db;
    ~Restore() { db->Exec("RENAME TABLE IMUser_away TO IMUser, IMDepart_away TO IMDepart"); }
  } restore{db_};
  EXPECT_EQ(UsersInfo(client_, {1, 2}).user_info_list_size(), 0);
  auto all = AllUsers(client_, 123);
  EXPECT_EQ(all.user_list_size(), 0);
  EXPECT_EQ(all.latest_update_time(), 123u);
  auto depts = Departments(client_, 77);
  EXPECT_EQ(depts.dept_list_size(), 0);
  EXPECT_EQ(depts.latest_update_time(), 77u);
  EXPECT_EQ(SignInfo(client_, 1, "x").result_code(), 1u);
  EXPECT_EQ(Avatar(client_, 1, "x").result_code(), 1u);
}

// ---- paging and large directories -------------------------------------------------------

// A daemon with small limits on its own database, so the demo users must be paged.
class UserPagingTest : public UserTest {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"user"};
    options.extra_yaml_modules = kPagingYaml;
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
  }

  static constexpr const char* kPagingYaml =
      "user:\n  max_users_per_response: 300\n  user_batch_size: 7\n"
      "  max_departments_per_response: 2\n";

  void Restart(const std::string& yaml) {
    client_.Close();
    ASSERT_EQ(daemon_->Stop(), 0);
    DaemonOptions options;
    options.plugins = {"user"};
    options.extra_yaml_modules = yaml;
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, options));
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  // Pages through 0x0208 from time 0 until an answer repeats only its own second.
  // Returns the pages.
  static std::vector<IM::Buddy::IMAllUserRsp> PageThrough(WireClient& client) {
    std::vector<IM::Buddy::IMAllUserRsp> pages;
    uint32_t since = 0;
    for (int i = 0; i < 50; ++i) {
      pages.push_back(AllUsers(client, since));
      if (pages.back().latest_update_time() == since) {
        break;
      }
      since = pages.back().latest_update_time();
    }
    return pages;
  }
};

TEST_F(UserPagingTest, PagesCoverEveryUserOnceAndContinueWhereTheyStopped) {
  // Ten seconds of 100 users each (ids 1-99 in the first).
  db_->Exec("UPDATE IMUser SET updated = 1700000000 + (id DIV 100)");
  auto pages = PageThrough(client_);
  ASSERT_EQ(pages.size(), 5u);
  std::vector<Ids> ids;
  for (const auto& p : pages) {
    ids.push_back(UserIds(p.user_list()));
    std::sort(ids.back().begin(), ids.back().end());
    EXPECT_LE(p.user_list_size(), 300);
  }
  EXPECT_EQ(ids[0], Range(1, 299));
  EXPECT_EQ(pages[0].latest_update_time(), 1700000003u) << "the first second not sent";
  EXPECT_EQ(ids[1], Range(300, 599));
  EXPECT_EQ(pages[1].latest_update_time(), 1700000006u);
  EXPECT_EQ(ids[2], Range(600, 899));
  EXPECT_EQ(pages[2].latest_update_time(), 1700000009u);
  EXPECT_EQ(ids[3], Range(900, 1000));
  EXPECT_EQ(pages[3].latest_update_time(), 1700000010u);
  EXPECT_EQ(ids[4], Ids{1000}) << "inclusive: the last second is repeated, nothing else";
}

TEST_F(UserPagingTest, AnOverfullSecondIsSplitAndTheClientMovesOn) {
  db_->Exec("UPDATE IMUser SET updated = 1700000000");
  auto rsp = AllUsers(client_, 0);
  Ids got = UserIds(rsp.user_list());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Range(1, 300));
  EXPECT_EQ(rsp.latest_update_time(), 1700000001u);
}

TEST_F(UserPagingTest, ThePageShrinksToTheByteLimit) {
  db_->Exec("UPDATE IMUser SET updated = 1700000000 + (id DIV 100)");
  Restart("user:\n  max_users_per_response: 100000\n  max_response_bytes: 20000\n");
  std::set<uint32_t> seen;
  uint32_t since = 0;
  int pages = 0;
  for (; pages < 50; ++pages) {
    WireClient::Frame frame;
    auto rsp = AllUsers(client_, since, &frame);
    EXPECT_LE(frame.body.size(), 20000u);
    EXPECT_GT(rsp.user_list_size(), 0);
    for (const auto& u : rsp.user_list()) {
      EXPECT_TRUE(seen.insert(u.user_id()).second || rsp.latest_update_time() == since)
          << u.user_id();
    }
    if (rsp.latest_update_time() == since) {
      break;
    }
    since = rsp.latest_update_time();
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_GE(pages, 3) << "1000 users of ~60 bytes cannot fit 20000 bytes in fewer pages";
  Restart(kPagingYaml);
}

TEST_F(UserPagingTest, DepartmentsArePagedAtSecondBoundaries) {
  db_->Exec(
      "INSERT INTO IMDepart (id, departName, priority, parentId, status, created, updated) VALUES "
      "(3, 'dept-3', 0, 1, 5, 1700000000, 1700000100), "
      "(4, 'dept-4', 0, 2, 1, 1700000000, 1700000050)");
  auto first = Departments(client_, 0);
  ASSERT_EQ(first.dept_list_size(), 2);
  EXPECT_EQ(first.dept_list(0).dept_id(), 1u);
  EXPECT_EQ(first.dept_list(1).dept_id(), 2u);
  EXPECT_EQ(first.latest_update_time(), 1700000049u);
  auto second = Departments(client_, first.latest_update_time());
  ASSERT_EQ(second.dept_list_size(), 1);
  EXPECT_EQ(second.dept_list(0).dept_id(), 4u);
  EXPECT_EQ(second.latest_update_time(), 1700000100u);
}

// 100,000 users: read in batches, answered in one frame when the limits allow it, and
// paged through within the default limits otherwise.
class UserLargeDirectoryTest : public UserTest {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    // 99,000 more users, 1000 per second of `updated`.
    db_->Exec(
        "INSERT INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar, "
        "departId, status, created, updated, push_shield_status, sign_info) "
        "SELECT seq, seq % 3, CONCAT('user', seq), CONCAT('user', seq), CONCAT('nick', seq), '', "
        "'', '', CONCAT('user', seq, '@example.com'), '', 1, 0, 1700000000, "
        "1700000000 + seq DIV 1000, 0, '' FROM seq_1001_to_100000");
    daemon_ = new DaemonProcess();
  }
  static bool StartWith(const std::string& user_yaml, const std::string& server_yaml) {
    DaemonOptions options;
    options.plugins = {"user"};
    options.extra_yaml_modules = user_yaml;
    options.server_overrides = server_yaml;
    return daemon_->Start(*db_, *redis_, options);
  }
  void SetUp() override {}
};

TEST_F(UserLargeDirectoryTest, HundredThousandUsersInOneAnswerWhenTheFrameAllowsIt) {
  ASSERT_TRUE(
      StartWith("user:\n  max_users_per_response: 100000\n"
                "  max_response_bytes: 33554000\n",
                "max_frame_bytes: 33554432\n"));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon_->port()));
  auto rsp = AllUsers(client, 0);
  ASSERT_EQ(rsp.user_list_size(), 100000);
  Ids got = UserIds(rsp.user_list());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Range(1, 100000));
  EXPECT_EQ(rsp.latest_update_time(), 1700000100u);
  ExpectSameUser(rsp.user_list(77776), ExpectedUser(*db_, rsp.user_list(77776).user_id()));
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(UserLargeDirectoryTest, HundredThousandUsersArePagedWithinTheDefaultLimits) {
  ASSERT_TRUE(StartWith("", ""));
  WireClient client;
  ASSERT_TRUE(client.Connect(daemon_->port()));
  std::set<uint32_t> seen;
  uint32_t since = 0;
  int pages = 0;
  for (; pages < 50; ++pages) {
    WireClient::Frame frame;
    auto rsp = AllUsers(client, since, &frame);
    EXPECT_LE(frame.length, 1048576u) << "within the default max_frame_bytes";
    EXPECT_LE(rsp.user_list_size(), 20000);
    for (const auto& u : rsp.user_list()) {
      bool fresh = seen.insert(u.user_id()).second;
      // Only the final inclusive repeat of the last second may send a user again.
      EXPECT_TRUE(fresh || rsp.latest_update_time() == since) << u.user_id();
    }
    if (rsp.latest_update_time() == since) {
      break;
    }
    since = rsp.latest_update_time();
  }
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_GE(pages, 5);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(UserTest, BadConfigValuesStopStartUpWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"user:\n  max_users_per_response: 0\n",
       "user.max_users_per_response must be between 1 and 10000000, got 0"},
      {"user:\n  max_response_bytes: 100\n",
       "user.max_response_bytes must be between 1024 and 1073741824, got 100"},
      {"user:\n  user_batch_size: many\n", "config key 'user_batch_size' must be an integer"},
  };
  for (const auto& [yaml, reason] : cases) {
    DaemonOptions options;
    options.plugins = {"user"};
    options.extra_yaml_modules = yaml;
    ExpectStartupRefused(*db_, *redis_, options, reason);
  }
}

}  // namespace
}  // namespace dbproxy::testing
