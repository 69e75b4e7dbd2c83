// file over the wire against a real dbproxyd and MariaDB: 0x0509 list, 0x050b add and 0x050c
// delete of offline files in IMTransmitFile, with injection-shaped names and task ids.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kSidFile = 5;
constexpr uint16_t kHasOffline = 0x0509;
constexpr uint16_t kHasOfflineRsp = 0x050a;
constexpr uint16_t kAddOffline = 0x050b;
constexpr uint16_t kDelOffline = 0x050c;

const std::string kAttach("\x00\xff file attach", 14);

// Waits up to 5 s for a condition that a no-reply command makes true.
bool WaitFor(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, not synchronising
  }
  return condition();
}

class FileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    daemon_ = new DaemonProcess();
    DaemonOptions options;
    options.plugins = {"file"};
    options.extra_yaml_modules = "file:\n  max_offline_files: 5\n";
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
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  IM::File::IMFileHasOfflineRsp HasOffline(uint32_t user) {
    IM::File::IMFileHasOfflineReq req;
    req.set_user_id(user);
    req.set_attach_data(kAttach);
    IM::File::IMFileHasOfflineRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidFile, kHasOffline, req, &rsp, 5000, &frame));
    EXPECT_EQ(frame.service_id, kSidFile);
    EXPECT_EQ(frame.command_id, kHasOfflineRsp);
    EXPECT_EQ(rsp.user_id(), user);
    EXPECT_EQ(rsp.attach_data(), kAttach);
    EXPECT_EQ(rsp.ip_addr_list_size(), 0);
    return rsp;
  }

  void Add(uint32_t from, uint32_t to, const std::string& task, const std::string& name,
           uint32_t size) {
    IM::File::IMFileAddOfflineReq req;
    req.set_from_user_id(from);
    req.set_to_user_id(to);
    req.set_task_id(task);
    req.set_file_name(name);
    req.set_file_size(size);
    ASSERT_TRUE(client_.SendFrame(kSidFile, kAddOffline, 1, req.SerializeAsString()));
  }

  void Delete(uint32_t from, uint32_t to, const std::string& task) {
    IM::File::IMFileDelOfflineReq req;
    req.set_from_user_id(from);
    req.set_to_user_id(to);
    req.set_task_id(task);
    ASSERT_TRUE(client_.SendFrame(kSidFile, kDelOffline, 2, req.SerializeAsString()));
  }

  uint64_t Rows(const std::string& where) {
    return std::stoull(
        db_->QueryValue("SELECT COUNT(*) FROM IMTransmitFile WHERE " + where).value_or("0"));
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* FileTest::db_ = nullptr;
TestRedis* FileTest::redis_ = nullptr;
DaemonProcess* FileTest::daemon_ = nullptr;

TEST_F(FileTest, AddedFilesAreListedForTheReceiverOldestFirst) {
  uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  Add(11, 12, "task-1", "report.pdf", 1234);
  ASSERT_TRUE(WaitFor([&] { return Rows("toId = 12") == 1; }));
  auto row = db_->Query(
      "SELECT fromId, toId, fileName, size, taskId, status, created, updated "
      "FROM IMTransmitFile WHERE toId = 12");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0], "11");
  EXPECT_EQ(row[0][2], "report.pdf");
  EXPECT_EQ(row[0][3], "1234");
  EXPECT_EQ(row[0][4], "task-1");
  EXPECT_EQ(row[0][5], "0");
  EXPECT_GE(std::stoul(*row[0][6]), before);
  EXPECT_EQ(row[0][6], row[0][7]);

  // Another, older by its created time, comes first.
  db_->Exec(
      "INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, "
      "updated) VALUES (13, 12, 'old.txt', 5, 'task-0', 0, 1600000000, 1600000000), "
      "(14, 12, 'done.txt', 6, 'task-x', 1, 1600000000, 1600000000)");
  auto rsp = HasOffline(12);
  ASSERT_EQ(rsp.offline_file_list_size(), 2) << "status 1 is not pending";
  EXPECT_EQ(rsp.offline_file_list(0).from_user_id(), 13u);
  EXPECT_EQ(rsp.offline_file_list(0).task_id(), "task-0");
  EXPECT_EQ(rsp.offline_file_list(0).file_name(), "old.txt");
  EXPECT_EQ(rsp.offline_file_list(0).file_size(), 5u);
  EXPECT_EQ(rsp.offline_file_list(1).from_user_id(), 11u);
  EXPECT_EQ(rsp.offline_file_list(1).task_id(), "task-1");
  EXPECT_EQ(rsp.offline_file_list(1).file_name(), "report.pdf");
  EXPECT_EQ(rsp.offline_file_list(1).file_size(), 1234u);

  EXPECT_EQ(HasOffline(11).offline_file_list_size(), 0) << "only the receiver sees them";
}

TEST_F(FileTest, QuotesInNamesAndTaskIdsAreStoredAndMatchedVerbatim) {
  const std::string task = "t'1\" OR '1'='1";
  const std::string name = "a'b\"c; DROP TABLE IMTransmitFile; -- \xe6\x96\x87.txt";
  Add(21, 22, task, name, 7);
  Add(21, 22, "t2", "keep.txt", 8);
  Add(21, 23, task, "other receiver.txt", 9);
  ASSERT_TRUE(WaitFor([&] { return Rows("fromId = 21") == 3; }));
  auto rsp = HasOffline(22);
  ASSERT_EQ(rsp.offline_file_list_size(), 2);
  EXPECT_EQ(rsp.offline_file_list(0).task_id(), task);
  EXPECT_EQ(rsp.offline_file_list(0).file_name(), name);

  // The injection-shaped task id deletes exactly its own row (W3).
  Delete(21, 22, task);
  ASSERT_TRUE(WaitFor([&] { return Rows("fromId = 21") == 2; }));
  auto after = HasOffline(22);
  ASSERT_EQ(after.offline_file_list_size(), 1);
  EXPECT_EQ(after.offline_file_list(0).task_id(), "t2");
  EXPECT_EQ(HasOffline(23).offline_file_list_size(), 1);
}

TEST_F(FileTest, DeleteNeedsSenderReceiverAndTaskToMatch) {
  Add(31, 32, "t31", "x", 1);
  ASSERT_TRUE(WaitFor([&] { return Rows("fromId = 31") == 1; }));
  Delete(99, 32, "t31");  // wrong sender
  Delete(31, 99, "t31");  // wrong receiver
  Delete(31, 32, "T31");  // task ids are case-sensitive (utf8mb4_bin)
  // No reply to wait for: the module counts deletes that matched nothing.
  ASSERT_TRUE(WaitFor([&] {
    return PluginCounter(daemon_->metrics_port(), "file", "offline_file_delete_missed") >= 3;
  }));
  EXPECT_EQ(Rows("fromId = 31"), 1u);
  Delete(31, 32, "t31");
  ASSERT_TRUE(WaitFor([&] { return Rows("fromId = 31") == 0; }));
  EXPECT_EQ(HasOffline(32).offline_file_list_size(), 0);
}

TEST_F(FileTest, ListIsCappedAtMaxOfflineFiles) {
  for (int i = 0; i < 8; ++i) {
    Add(41, 42, "cap-" + std::to_string(i), "f", static_cast<uint32_t>(i));
  }
  ASSERT_TRUE(WaitFor([&] { return Rows("toId = 42") == 8; }));
  EXPECT_EQ(HasOffline(42).offline_file_list_size(), 5);
}

TEST_F(FileTest, OverlongOrUnparsableAddsStoreNothing) {
  Add(51, 52, std::string(129, 't'), "ok", 1);
  Add(51, 52, "ok", std::string(256, 'n'), 1);
  ASSERT_TRUE(client_.SendFrame(kSidFile, kAddOffline, 3, std::string("\x08\x33", 2)));
  ASSERT_TRUE(WaitFor([&] {
    return PluginCounter(daemon_->metrics_port(), "file", "bad_requests") >= 2 &&
           PluginCounter(daemon_->metrics_port(), "file", "parse_errors") >= 1;
  }));
  Add(51, 52, std::string(128, 't'), std::string(255, 'n'), 1);  // exactly at the limits
  ASSERT_TRUE(WaitFor([&] { return Rows("fromId = 51") == 1; }));
  // No reply for any of them: the next frame on this connection answers the list.
  auto rsp = HasOffline(52);
  ASSERT_EQ(rsp.offline_file_list_size(), 1);
  EXPECT_EQ(rsp.offline_file_list(0).task_id(), std::string(128, 't'));
}

TEST_F(FileTest, StorageErrorsAnswerAnEmptyList) {
  Add(61, 62, "t61", "x", 1);
  ASSERT_TRUE(WaitFor([&] { return Rows("toId = 62") == 1; }));
  db_->Exec("RENAME TABLE IMTransmitFile TO IMTransmitFile_away");
  auto rsp = HasOffline(62);
  db_->Exec("RENAME TABLE IMTransmitFile_away TO IMTransmitFile");
  EXPECT_EQ(rsp.offline_file_list_size(), 0);
  EXPECT_EQ(HasOffline(62).offline_file_list_size(), 1);
}

TEST_F(FileTest, BadConfigValuesStopStartUpWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"file:\n  max_offline_files: 0\n",
       "file.max_offline_files must be between 1 and 100000, got 0"},
      {"file:\n  max_offline_files: lots\n", "config key 'max_offline_files' must be an integer"},
  };
  for (const auto& [yaml, reason] : cases) {
    DaemonOptions options;
    options.plugins = {"file"};
    options.extra_yaml_modules = yaml;
    ExpectStartupRefused(*db_, *redis_, options, reason);
  }
}

}  // namespace
}  // namespace dbproxy::testing
