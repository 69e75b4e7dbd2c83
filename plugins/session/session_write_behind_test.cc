// Write-behind of sessions (session_write_behind.h) over the wire: dbproxyd with message,
// session and group_member and a write-behind interval far longer than the test, so every
// session row the test sees was written by a flush it caused: a session list, a removal,
// a reload of the session module, SIGTERM. Real MariaDB and Redis.
//
// A conversation's first message creates its missing session rows inside the message
// transaction (plugins/message/message_writer.cc), so what is written behind is the touch:
// `updated` (and `status`) of rows that exist. The tests plant the rows with updated = 1 and
// watch that value change.

#include <csignal>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wait_for.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidBuddy = 2;
constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kRecentReq = 0x0201;
constexpr uint16_t kRemoveReq = 0x0206;
constexpr uint16_t kMsgData = 0x0301;
const std::string kAttach("\x00\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00", 12);

std::string S(uint64_t v) { return std::to_string(v); }

DaemonProcess::Options WriteBehindOptions(int delay_ms) {
  DaemonProcess::Options options;
  options.plugins = {"message", "session", "group_member"};
  options.extra_yaml_modules =
      "session:\n  session_write_delay_ms: " + S(static_cast<uint64_t>(delay_ms)) + "\n";
  return options;
}

class SessionWriteBehindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDatabase::Create();
    redis_ = TestRedis::Create();
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, WriteBehindOptions(5000)));
    ASSERT_TRUE(client_.Connect(daemon_.port()));
  }

  uint32_t Send(uint32_t from, uint32_t to, int type) {
    IM::Message::IMMsgData msg;
    msg.set_from_user_id(from);
    msg.set_to_session_id(to);
    msg.set_msg_id(0);
    msg.set_create_time(static_cast<uint32_t>(std::time(nullptr)));
    msg.set_msg_type(static_cast<IM::BaseDefine::MsgType>(type));
    msg.set_msg_data("write-behind");
    msg.set_attach_data(kAttach);
    IM::Message::IMMsgData rsp;
    if (!client_.CallMessage(kSidMsg, kMsgData, msg, &rsp, 10000)) {
      return 0;
    }
    return rsp.msg_id();
  }

  // Shown rows of user's sessions with peer (type 1 user, 2 group).
  std::string Shown(uint32_t user, uint32_t peer, int type) {
    return db_
        ->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE userId = " + S(user) +
                     " AND peerId = " + S(peer) + " AND type = " + S(type) + " AND status = 0")
        .value_or("?");
  }

  // Both sides of a user pair, shown, last touched at time 1.
  void Plant(uint32_t a, uint32_t b) {
    db_->Exec(
        "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) "
        "VALUES (" +
        S(a) + ", " + S(b) + ", 1, 0, 1, 1), (" + S(b) + ", " + S(a) + ", 1, 0, 1, 1)");
  }

  // Shown rows of user's session with peer (type 1) touched since Plant.
  std::string Touched(uint32_t user, uint32_t peer) {
    return db_
        ->QueryValue("SELECT COUNT(*) FROM IMRecentSession WHERE userId = " + S(user) +
                     " AND peerId = " + S(peer) + " AND type = 1 AND status = 0 AND updated > 1")
        .value_or("?");
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestRedis> redis_;
  DaemonProcess daemon_;
  WireClient client_;
};

TEST_F(SessionWriteBehindTest, SigtermFlushesPendingSessionsIntoMariadb) {
  Plant(700, 701);
  ASSERT_NE(Send(700, 701, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  // Without the stop the touch would be written only after the 5 s interval: still pending.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Touched(700, 701), "0") << "written before any flush: not write-behind";

  EXPECT_EQ(daemon_.Stop(), 0) << daemon_.ReadLog();
  EXPECT_EQ(Touched(700, 701), "1");
  EXPECT_EQ(Touched(701, 700), "1");
}

TEST_F(SessionWriteBehindTest, GroupSenderSessionIsFlushedOnSigterm) {
  // The sender had removed the group's session: the member sync (every 250 ms) leaves it
  // removed, only the sender's own touch -- written behind -- shows it again.
  db_->Exec(
      "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) "
      "VALUES (3, 1, 2, 1, 1, 1)");
  ASSERT_NE(Send(3, 1, IM::BaseDefine::MSG_TYPE_GROUP_TEXT), 0u);  // group 1 = users 1-10
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Shown(3, 1, 2), "0") << "written before any flush: not write-behind";
  EXPECT_EQ(daemon_.Stop(), 0) << daemon_.ReadLog();
  EXPECT_EQ(Shown(3, 1, 2), "1");
}

TEST_F(SessionWriteBehindTest, ReloadOfTheSessionModuleFlushesPendingSessions) {
  Plant(710, 711);
  ASSERT_NE(Send(710, 711, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Touched(710, 711), "0") << "written before any flush: not write-behind";

  // A changed session section reloads the session module; the old one flushes on unload.
  daemon_.RewriteConfig(WriteBehindOptions(4000));
  daemon_.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return Touched(710, 711) == "1" && Touched(711, 710) == "1"; }, 3000))
      << daemon_.ReadLog();
  EXPECT_TRUE(WaitFor(
      [&] { return daemon_.ReadLog().find("module 'session' of generation") != std::string::npos; },
      3000))
      << "the session module was not reloaded:\n"
      << daemon_.ReadLog();

  // The new generation writes behind too, and its pending touches survive the stop.
  Plant(712, 713);
  ASSERT_NE(Send(712, 713, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  EXPECT_EQ(Touched(712, 713), "0") << "written before any flush: not write-behind";
  EXPECT_EQ(daemon_.Stop(), 0) << daemon_.ReadLog();
  EXPECT_EQ(Touched(712, 713), "1");
  EXPECT_EQ(Touched(713, 712), "1");
}

TEST_F(SessionWriteBehindTest, ListAndRemoveSeeEveryStoredMessage) {
  ASSERT_NE(Send(720, 721, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  // The list flushes first: the session just written behind is in it.
  IM::Buddy::IMRecentContactSessionReq req;
  req.set_user_id(721);
  req.set_latest_update_time(0);
  req.set_attach_data(kAttach);
  std::string body;
  req.SerializeToString(&body);
  std::optional<WireClient::Frame> frame = client_.Call(kSidBuddy, kRecentReq, body);
  ASSERT_TRUE(frame.has_value());
  IM::Buddy::IMRecentContactSessionRsp rsp;
  ASSERT_TRUE(rsp.ParseFromString(frame->body));
  ASSERT_EQ(rsp.contact_session_list_size(), 1);
  EXPECT_EQ(rsp.contact_session_list(0).session_id(), 720u);

  // A message stored before a removal never shows the session again after it.
  ASSERT_NE(Send(722, 723, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  IM::Buddy::IMRemoveSessionReq remove;
  remove.set_user_id(722);
  remove.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  remove.set_session_id(723);
  remove.set_attach_data(kAttach);
  remove.SerializeToString(&body);
  frame = client_.Call(kSidBuddy, kRemoveReq, body);
  ASSERT_TRUE(frame.has_value());
  IM::Buddy::IMRemoveSessionRsp removed;
  ASSERT_TRUE(removed.ParseFromString(frame->body));
  EXPECT_EQ(removed.result_code(), 0u) << "the pending session was not written before removal";
  EXPECT_EQ(daemon_.Stop(), 0);
  EXPECT_EQ(Shown(722, 723, 1), "0");
  EXPECT_EQ(Shown(723, 722, 1), "1");
}

TEST_F(SessionWriteBehindTest, AFailedFlushKeepsItsSessionsForTheNextFlush) {
  Plant(730, 731);
  ASSERT_NE(Send(730, 731, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT), 0u);
  db_->Exec("RENAME TABLE IMRecentSession TO IMRecentSession_away");
  // The list flushes first: that write fails, and so does the list itself.
  IM::Buddy::IMRecentContactSessionReq req;
  req.set_user_id(730);
  req.set_latest_update_time(0);
  req.set_attach_data(kAttach);
  std::string body;
  req.SerializeToString(&body);
  ASSERT_TRUE(client_.Call(kSidBuddy, kRecentReq, body).has_value());
  db_->Exec("RENAME TABLE IMRecentSession_away TO IMRecentSession");
  EXPECT_EQ(Touched(730, 731), "0");

  EXPECT_EQ(daemon_.Stop(), 0) << daemon_.ReadLog();
  EXPECT_EQ(Touched(730, 731), "1") << daemon_.ReadLog();
  EXPECT_EQ(Touched(731, 730), "1");
  EXPECT_NE(daemon_.ReadLog().find("kept for the next flush"), std::string::npos)
      << daemon_.ReadLog();
}

}  // namespace
}  // namespace dbproxy::testing
