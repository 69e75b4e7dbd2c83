// audio over the wire against a real dbproxyd, MariaDB and a media server (msfs) played by
// this test process (testing/fake_msfs.h). The internal services are driven byte for byte
// through the test-only audio_probe module; the round trip a client sees goes through the
// message module (CID_MSG_DATA type 2, CID_MSG_LIST_REQUEST) when it is in the tree.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/audio/testing/fake_msfs.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

using plugins::audio::testing::FakeMsfs;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kProbeService = 7;
constexpr uint16_t kProbeSave = 0x7a10;
constexpr uint16_t kProbeLoad = 0x7a12;
constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kMsgData = 0x0301;
constexpr uint16_t kMsgList = 0x0309;
constexpr uint16_t kMsgListRsp = 0x030a;
constexpr int kTimeoutMs = 3000;  // audio.timeout_ms of the suite's daemon

std::string Be32(uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(v >> shift));
  }
  return out;
}

uint32_t GetBe32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  }
  return v;
}

// Audio bytes with every byte value, so binary safety is checked on the way.
std::string AudioBytes(size_t n, char seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>(seed) + i * 7);
  }
  return out;
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

struct SaveAnswer {
  uint32_t status = 99;
  uint32_t audio_id = 0;
};

struct LoadEntry {
  uint32_t id = 0;
  bool found = false;
  std::string data;
};

class AudioTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
    msfs_ = new FakeMsfs();
    // The audio .so and the test-only probe live in two build folders; the daemon loads
    // from one directory, so link both (and message) into a private one.
    plugin_dir_ = new std::string(std::filesystem::temp_directory_path() /
                                  ("dbp-audio-plugins-" + std::to_string(getpid())));
    std::filesystem::create_directories(*plugin_dir_);
    std::vector<std::string> sources = {std::string(DBPROXY_PLUGIN_DIR) + "/audio.so",
                                        std::string(DBPROXY_TEST_PLUGIN_DIR) + "/audio_probe.so"};
#ifdef DBPROXY_HAVE_MESSAGE
    sources.push_back(std::string(DBPROXY_PLUGIN_DIR) + "/message.so");
#endif
    for (const std::string& src : sources) {
      std::filesystem::create_symlink(
          src, *plugin_dir_ + "/" + std::filesystem::path(src).filename().string());
    }
    daemon_ = new DaemonProcess();
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, Options(msfs_->base_url())));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete msfs_;
    delete redis_;
    delete db_;
    daemon_ = nullptr;
    if (plugin_dir_ != nullptr) {
      std::filesystem::remove_all(*plugin_dir_);
      delete plugin_dir_;
    }
  }
  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running());
    ASSERT_TRUE(client_.Connect(daemon_->port()));
    msfs_->set_delay_ms(0);
    msfs_->set_upload_answer(std::nullopt);
    msfs_->set_truncate_downloads(false);
  }

  static DaemonOptions Options(const std::string& msfs_url) {
    DaemonOptions options;
    options.plugins = {"audio", "audio_probe"};
#ifdef DBPROXY_HAVE_MESSAGE
    options.plugins.push_back("message");
#endif
    options.plugin_dir = *plugin_dir_;
    options.extra_yaml_modules =
        "audio:\n  msfs_url: \"" + msfs_url +
        "\"\n  connect_timeout_ms: 1000\n  timeout_ms: " + std::to_string(kTimeoutMs) + "\n";
    return options;
  }
  void Restart(const std::string& msfs_url) {
    client_.Close();
    ASSERT_EQ(daemon_->Stop(), 0);
    ASSERT_TRUE(daemon_->Start(*db_, *redis_, Options(msfs_url)));
    ASSERT_TRUE(client_.Connect(daemon_->port()));
  }

  SaveAnswer Save(uint32_t from, uint32_t to, uint32_t created, const std::string& msg_data) {
    std::string body = Be32(from) + Be32(to) + Be32(created) + msg_data;
    return SaveRaw(body);
  }
  SaveAnswer SaveRaw(const std::string& body) {
    SaveAnswer a;
    auto frame = client_.Call(kProbeService, kProbeSave, body, 15000);
    EXPECT_TRUE(frame.has_value());
    if (!frame) {
      return a;
    }
    EXPECT_EQ(frame->body.size(), 8u) << frame->body;
    if (frame->body.size() == 8) {
      a.status = GetBe32(frame->body, 0);
      a.audio_id = GetBe32(frame->body, 4);
    }
    return a;
  }

  std::vector<LoadEntry> Load(const std::vector<uint32_t>& ids) {
    std::string body;
    for (uint32_t id : ids) {
      body += Be32(id);
    }
    std::vector<LoadEntry> out;
    auto frame = client_.Call(kProbeService, kProbeLoad, body, 15000);
    EXPECT_TRUE(frame.has_value());
    if (!frame) {
      return out;
    }
    const std::string& b = frame->body;
    size_t at = 0;
    while (at + 9 <= b.size()) {
      LoadEntry e;
      e.id = GetBe32(b, at);
      e.found = b[at + 4] == 1;
      uint32_t len = GetBe32(b, at + 5);
      at += 9;
      EXPECT_LE(at + len, b.size());
      e.data = b.substr(at, len);
      at += len;
      out.push_back(e);
    }
    EXPECT_EQ(at, b.size()) << "the answer is exactly a list of entries";
    return out;
  }

  // Stores an audio through the service; returns its id.
  uint32_t Stored(uint32_t duration, const std::string& audio) {
    SaveAnswer a = Save(1, 2, 1700000500, Be32(duration) + audio);
    EXPECT_EQ(a.status, 0u);
    EXPECT_NE(a.audio_id, 0u);
    return a.audio_id;
  }

  uint64_t AudioRows() {
    return std::stoull(db_->QueryValue("SELECT COUNT(*) FROM IMAudio").value_or("0"));
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  static FakeMsfs* msfs_;
  static std::string* plugin_dir_;
  static DaemonProcess* daemon_;
  WireClient client_;
};

TestDatabase* AudioTest::db_ = nullptr;
TestRedis* AudioTest::redis_ = nullptr;
FakeMsfs* AudioTest::msfs_ = nullptr;
std::string* AudioTest::plugin_dir_ = nullptr;
DaemonProcess* AudioTest::daemon_ = nullptr;

// ---- save -----------------------------------------------------------------------------

TEST_F(AudioTest, SaveUploadsTheAudioAndStoresItsRow) {
  const std::string audio = AudioBytes(1000, '\x00');
  size_t uploads_before = msfs_->uploads().size();
  SaveAnswer a = Save(11, 12, 1700000123, Be32(7) + audio);
  ASSERT_EQ(a.status, 0u);
  ASSERT_NE(a.audio_id, 0u);

  auto uploads = msfs_->uploads();
  ASSERT_EQ(uploads.size(), uploads_before + 1);
  const auto& up = uploads.back();
  EXPECT_EQ(up.path, "/") << "the configured URL exactly, no extra '/' (W37)";
  EXPECT_EQ(up.part_name, "file");
  EXPECT_EQ(up.filename, "1.audio");
  EXPECT_EQ(up.bytes, audio) << "the audio without its 4-byte duration";

  auto rows = db_->Query(
      "SELECT fromId, toId, path, size, duration, created FROM IMAudio "
      "WHERE id = " +
      std::to_string(a.audio_id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "11");
  EXPECT_EQ(rows[0][1], "12");
  EXPECT_EQ(rows[0][2], msfs_->base_url() + "f/" + std::to_string(uploads.size()));
  EXPECT_EQ(rows[0][3], "1000");
  EXPECT_EQ(rows[0][4], "7");
  EXPECT_EQ(rows[0][5], "1700000123");
}

TEST_F(AudioTest, SaveRefusesDataWithoutAudioBytes) {
  uint64_t rows = AudioRows();
  size_t uploads = msfs_->uploads().size();
  EXPECT_EQ(Save(1, 2, 3, Be32(5)).status, 1u) << "4 bytes: a duration and nothing else";
  EXPECT_EQ(Save(1, 2, 3, "").status, 1u);
  EXPECT_EQ(SaveRaw("short").status, 1u) << "not even the from/to/time header";
  EXPECT_EQ(Save(1, 2, 3, Be32(5) + "x").status, 0u) << "one audio byte is enough";
  EXPECT_EQ(AudioRows(), rows + 1);
  EXPECT_EQ(msfs_->uploads().size(), uploads + 1);
}

TEST_F(AudioTest, SaveFailsWhenTheMediaServerSaysNo) {
  uint64_t rows = AudioRows();
  size_t uploads = msfs_->uploads().size();
  msfs_->set_upload_answer(std::string(R"({"error_code":1,"error_msg":"disk full"})"));
  EXPECT_EQ(Save(1, 2, 3, Be32(1) + "abc").status, 2u);
  msfs_->set_upload_answer(std::string("<html>oops</html>"));
  EXPECT_EQ(Save(1, 2, 3, Be32(1) + "abc").status, 2u);
  msfs_->set_upload_answer(std::string(R"({"error_code":0,"url":")") + std::string(300, 'u') +
                           "\"}");
  EXPECT_EQ(Save(1, 2, 3, Be32(1) + "abc").status, 2u) << "url longer than IMAudio.path";
  EXPECT_EQ(msfs_->uploads().size(), uploads + 3) << "each one reached the media server";
  EXPECT_EQ(AudioRows(), rows);
}

TEST_F(AudioTest, SaveToASlowMediaServerGivesUpAtTheTimeout) {
  msfs_->set_delay_ms(kTimeoutMs + 3000);
  auto start = Clock::now();
  EXPECT_EQ(Save(1, 2, 3, Be32(1) + "abc").status, 2u);
  int64_t ms = MillisSince(start);
  EXPECT_GE(ms, kTimeoutMs - 100);
  EXPECT_LT(ms, kTimeoutMs + 2500) << "bounded by audio.timeout_ms";
}

// ---- load -----------------------------------------------------------------------------

TEST_F(AudioTest, LoadAnswersEveryIdInRequestOrder) {
  const std::string a1 = AudioBytes(300, '\x10');
  const std::string a2 = AudioBytes(5000, '\x80');
  uint32_t id1 = Stored(3, a1);
  uint32_t id2 = Stored(60, a2);
  auto entries = Load({id2, 999999, id1, id2, 0});
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].id, id2);
  EXPECT_TRUE(entries[0].found);
  EXPECT_EQ(entries[0].data, Be32(60) + a2);
  EXPECT_EQ(entries[1].id, 999999u);
  EXPECT_FALSE(entries[1].found);
  EXPECT_EQ(entries[1].data, "");
  EXPECT_EQ(entries[2].id, id1);
  EXPECT_TRUE(entries[2].found);
  EXPECT_EQ(entries[2].data, Be32(3) + a1);
  EXPECT_EQ(entries[3].data, Be32(60) + a2);
  EXPECT_EQ(entries[4].id, 0u);
  EXPECT_FALSE(entries[4].found);
  EXPECT_TRUE(Load({}).empty());
}

TEST_F(AudioTest, LoadCountsOnlyDownloadsOfTheStoredSize) {
  uint32_t id = Stored(2, AudioBytes(100, '\x01'));
  msfs_->set_truncate_downloads(true);
  auto short_body = Load({id});
  ASSERT_EQ(short_body.size(), 1u);
  EXPECT_FALSE(short_body[0].found);
  msfs_->set_truncate_downloads(false);

  db_->Exec("UPDATE IMAudio SET size = 99 WHERE id = " + std::to_string(id));
  auto long_body = Load({id});  // the server sends 100 bytes, the row says 99
  ASSERT_EQ(long_body.size(), 1u);
  EXPECT_FALSE(long_body[0].found);

  db_->Exec("UPDATE IMAudio SET size = 100, path = NULL WHERE id = " + std::to_string(id));
  auto no_path = Load({id});  // SQL NULL path: nothing to download, no crash (W27)
  ASSERT_EQ(no_path.size(), 1u);
  EXPECT_FALSE(no_path[0].found);
}

TEST_F(AudioTest, LoadDownloadsInParallelWithinOneTimeout) {
  std::vector<uint32_t> ids;
  for (char seed = 'a'; seed < 'f'; ++seed) {
    ids.push_back(Stored(4, AudioBytes(2000, seed)));
  }
  msfs_->set_delay_ms(2000);  // every file takes 2 s: 10 s one after another
  auto start = Clock::now();
  auto entries = Load(ids);
  int64_t ms = MillisSince(start);
  ASSERT_EQ(entries.size(), 5u);
  for (const auto& e : entries) {
    EXPECT_TRUE(e.found) << e.id;
  }
  EXPECT_GE(msfs_->max_parallel_gets(), 5) << "all five were in flight at once";
  EXPECT_LT(ms, 2000 + 3000) << "about one file's time, not five";

  msfs_->set_delay_ms(kTimeoutMs + 3000);  // slower than the timeout: all give up together
  start = Clock::now();
  entries = Load(ids);
  ms = MillisSince(start);
  ASSERT_EQ(entries.size(), 5u);
  for (const auto& e : entries) {
    EXPECT_FALSE(e.found) << e.id;
  }
  EXPECT_LT(ms, kTimeoutMs + 2500) << "one timeout for the whole list";
}

TEST_F(AudioTest, BadConfigValuesStopStartUpWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"audio:\n  msfs_url: \"ftp://media/\"\n",
       "audio.msfs_url must start with http:// or https://, got 'ftp://media/'"},
      {"audio:\n  timeout_ms: 0\n", "audio.timeout_ms must be between 1 and 600000, got 0"},
      {"audio:\n  max_load_ids: 1025\n", "audio.max_load_ids must be between 1 and 1024, got 1025"},
  };
  for (const auto& [yaml, reason] : cases) {
    DaemonOptions options;
    options.plugins = {"audio"};
    options.plugin_dir = *plugin_dir_;
    options.extra_yaml_modules = yaml;
    ExpectStartupRefused(*db_, *redis_, options, reason);
  }
}

// ---- through the message module -------------------------------------------------------

#ifdef DBPROXY_HAVE_MESSAGE
IM::Message::IMMsgData AudioMessage(uint32_t from, uint32_t to, const std::string& data) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(to);
  msg.set_msg_id(0);
  msg.set_create_time(1700001000);
  msg.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO);
  msg.set_msg_data(data);
  msg.set_attach_data(std::string("\x00\x00\x00\x01\x00\x00\x00\x07", 8));
  return msg;
}

class AudioMessageTest : public AudioTest {
 protected:
  uint32_t Send(const IM::Message::IMMsgData& msg, int timeout_ms = 15000) {
    IM::Message::IMMsgData rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kMsgData, msg, &rsp, timeout_ms, &frame));
    EXPECT_EQ(frame.command_id, kMsgData);
    EXPECT_EQ(rsp.msg_data(), msg.msg_data()) << "the request is echoed";
    return rsp.msg_id();
  }
  IM::Message::IMGetMsgListRsp List(uint32_t user, uint32_t peer, uint32_t count) {
    IM::Message::IMGetMsgListReq req;
    req.set_user_id(user);
    req.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
    req.set_session_id(peer);
    req.set_msg_id_begin(0);
    req.set_msg_cnt(count);
    IM::Message::IMGetMsgListRsp rsp;
    WireClient::Frame frame;
    EXPECT_TRUE(client_.CallMessage(kSidMsg, kMsgList, req, &rsp, 20000, &frame));
    EXPECT_EQ(frame.command_id, kMsgListRsp);
    return rsp;
  }
};

TEST_F(AudioMessageTest, AudioMessageRoundTripsAsDurationAndBytes) {
  const std::string audio = AudioBytes(4321, '\x05');
  uint32_t msg_id = Send(AudioMessage(21, 22, Be32(9) + audio));
  ASSERT_NE(msg_id, 0u);
  auto stored = db_->QueryValue(
      "SELECT COUNT(*) FROM IMAudio WHERE fromId = 21 AND toId = 22 "
      "AND size = 4321 AND duration = 9");
  EXPECT_EQ(stored, "1");

  auto rsp = List(22, 21, 10);
  ASSERT_EQ(rsp.msg_list_size(), 1);
  EXPECT_EQ(rsp.msg_list(0).msg_id(), msg_id);
  EXPECT_EQ(rsp.msg_list(0).msg_type(), IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO);
  EXPECT_EQ(rsp.msg_list(0).from_session_id(), 21u);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), Be32(9) + audio);
}

TEST_F(AudioMessageTest, AListOfFiveAudioMessagesWaitsAboutOneFileNotFive) {
  std::vector<std::string> audios;
  for (char seed = 'A'; seed < 'F'; ++seed) {
    audios.push_back(AudioBytes(1500, seed));
    ASSERT_NE(Send(AudioMessage(31, 32, Be32(2) + audios.back())), 0u);
  }
  msfs_->set_delay_ms(2000);
  auto start = Clock::now();
  auto rsp = List(32, 31, 10);
  int64_t ms = MillisSince(start);
  ASSERT_EQ(rsp.msg_list_size(), 5);
  for (int i = 0; i < 5; ++i) {  // newest first
    EXPECT_EQ(rsp.msg_list(i).msg_data(), Be32(2) + audios[4 - static_cast<size_t>(i)]);
  }
  EXPECT_GE(msfs_->max_parallel_gets(), 5);
  EXPECT_LT(ms, 2000 + 3000) << "serial downloads would take 10 s";
}

TEST_F(AudioMessageTest, MediaServerDownAnswersMsgIdZeroQuickly) {
  uint64_t rows = AudioRows();
  FakeMsfs down;
  std::string url = down.base_url();
  down.Stop();  // the port now refuses connections
  Restart(url);
  auto start = Clock::now();
  EXPECT_EQ(Send(AudioMessage(41, 42, Be32(1) + "abc")), 0u);
  EXPECT_LT(MillisSince(start), 1500) << "a refused connection fails at once";
  EXPECT_EQ(AudioRows(), rows);
  EXPECT_EQ(List(42, 41, 10).msg_list_size(), 0) << "no message row without its audio";
  Restart(msfs_->base_url());
  EXPECT_NE(Send(AudioMessage(41, 42, Be32(1) + "abc")), 0u);
}
#endif  // DBPROXY_HAVE_MESSAGE

}  // namespace
}  // namespace dbproxy::testing
