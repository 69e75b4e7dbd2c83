#include "plugins/message/config.h"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace dbproxy::plugins::message {
namespace {

// A host table with only config_int: values come from `values`, the keys asked for are
// recorded in `asked`. Everything else stays null (LoadConfig uses nothing else).
std::map<std::string, int64_t> values;
std::set<std::string> asked;

int FakeConfigInt(dbp_plugin_t*, const char* key, int64_t def, int64_t* out) {
  asked.insert(key);
  auto it = values.find(key);
  *out = it == values.end() ? def : it->second;
  return DBP_OK;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    values.clear();
    asked.clear();
    api_.struct_size = sizeof(api_);
    api_.abi_major = DBP_ABI_MAJOR;
    api_.abi_minor = DBP_ABI_MINOR;
    api_.config_int = &FakeConfigInt;
  }
  sdk::Result<Config> Load() {
    sdk::Host host(&api_, nullptr);
    return LoadConfig(host);
  }

  dbp_host_api_t api_{};
};

TEST_F(ConfigTest, DefaultsWhenNothingIsSet) {
  auto config = Load();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_msg_bytes, 4096u);
  EXPECT_EQ(config->max_msg_cnt, 100u);
  EXPECT_EQ(config->max_msg_ids, 100u);
  EXPECT_EQ(config->send_batch_max, 128u);
  EXPECT_EQ(config->send_concurrency, 4u);
}

TEST_F(ConfigTest, ReadsEveryKey) {
  values = {{"max_msg_bytes", 100},
            {"max_msg_cnt", 7},
            {"max_msg_ids", 1000},
            {"send_batch_max", 1},
            {"send_concurrency", 256}};
  auto config = Load();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_msg_bytes, 100u);
  EXPECT_EQ(config->max_msg_cnt, 7u);
  EXPECT_EQ(config->max_msg_ids, 1000u);
  EXPECT_EQ(config->send_batch_max, 1u);
  EXPECT_EQ(config->send_concurrency, 256u);
}

TEST_F(ConfigTest, RejectsZeroMsgCntWithTheExactMessage) {
  values = {{"max_msg_cnt", 0}};
  auto config = Load();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), DBP_E_CONFIG);
  EXPECT_EQ(config.status().message(), "max_msg_cnt must be between 1 and 1000, got 0");
}

TEST_F(ConfigTest, RejectsNegativeAndTooLargeValues) {
  values = {{"max_msg_bytes", -1}};
  auto config = Load();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "max_msg_bytes must be between 1 and 16384, got -1");

  values = {{"max_msg_ids", 1001}};
  config = Load();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "max_msg_ids must be between 1 and 1000, got 1001");

  values = {{"send_batch_max", 0}};
  config = Load();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "send_batch_max must be between 1 and 1024, got 0");

  values = {{"send_concurrency", 257}};
  config = Load();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "send_concurrency must be between 1 and 256, got 257");
}

TEST_F(ConfigTest, SchemaDeclaresExactlyTheKeysRead) {
  ASSERT_TRUE(Load().ok());
  std::ifstream in(std::string(DBPROXY_SOURCE_DIR) + "/plugins/message/config_schema.yaml");
  ASSERT_TRUE(in.good());
  std::set<std::string> declared;
  const std::regex top_level_key("^([a-z_]+):");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, top_level_key)) {
      declared.insert(m[1]);
    }
  }
  EXPECT_EQ(declared, asked);
}

}  // namespace
}  // namespace dbproxy::plugins::message
