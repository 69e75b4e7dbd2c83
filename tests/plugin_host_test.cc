// The plugin host against real .so files built in tests/plugins: dlopen, ABI checks,
// registration rules, config validation and generation swaps. No network needed: the
// host is driven directly on a real libuv loop.

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "core/admin/metrics.h"
#include "core/dispatch/worker_pool.h"
#include "core/plugin/host.h"
#include "core/plugin/host_services.h"
#include "core/storage/mysql_pool.h"
#include "core/storage/redis_pool.h"

namespace dbproxy::plugin {
namespace {

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    staging_ = std::filesystem::temp_directory_path() /
               ("dbp-host-test-" + std::to_string(getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    services_.mysql = &mysql_;
    services_.redis = &redis_;
    services_.metrics = &metrics_;
    services_.send_frame = [](uint64_t, std::string) {};
    workers_ = std::make_unique<dispatch::WorkerPool>(2, 100, nullptr);
    workers_->Start();
    host_ = std::make_unique<Host>(&loop_, workers_.get(), &services_);
    // The host's own timers are unref'd (they must not keep a daemon alive); this referenced
    // timer keeps the test loop alive so uv_run actually runs them.
    uv_timer_init(&loop_, &keepalive_);
    uv_timer_start(
        &keepalive_, [](uv_timer_t*) {}, 1000, 1000);
  }
  void TearDown() override {
    host_.reset();
    workers_->Stop();
    uv_close(reinterpret_cast<uv_handle_t*>(&keepalive_), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(0, uv_loop_close(&loop_)) << "a uv handle leaked";
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
  }

  config::PluginsConfig Config(std::vector<std::string> enabled) {
    config::PluginsConfig c;
    c.directory = DBPROXY_TEST_PLUGIN_DIR;
    c.staging_directory = staging_.string();
    c.enabled = std::move(enabled);
    return c;
  }

  uv_loop_t loop_;
  uv_timer_t keepalive_;
  std::filesystem::path staging_;
  admin::Metrics metrics_;
  std::map<std::string, std::unique_ptr<storage::MysqlPool>> mysql_;
  std::map<std::string, std::unique_ptr<storage::RedisPool>> redis_;
  HostServices services_;
  std::unique_ptr<dispatch::WorkerPool> workers_;
  std::unique_ptr<Host> host_;
};

TEST_F(PluginHostTest, LoadsGoodPluginFromAStagedCopyAndRegistersItsCommands) {
  Status s = host_->Start(Config({"test_echo"}));
  ASSERT_TRUE(s.ok()) << s.message();
  const auto& gen = host_->current();
  ASSERT_NE(nullptr, gen->Find(0x7001));
  EXPECT_EQ(nullptr, gen->Find(0x7002));
  ASSERT_NE(nullptr, gen->Find(0x70f1));
  EXPECT_NE(0u, gen->Find(0x70f1)->reg.flags & DBP_CMD_INTERNAL);
  auto modules = host_->Modules();
  ASSERT_EQ(1u, modules.size());
  EXPECT_EQ("test_echo", modules[0].name);
  EXPECT_EQ("1.0.0", modules[0].version);
  EXPECT_EQ("active", modules[0].state);
  EXPECT_NE(modules[0].path, modules[0].staged_path);
  EXPECT_TRUE(std::filesystem::exists(modules[0].staged_path));
  EXPECT_EQ(0u, modules[0].staged_path.rfind(staging_.string(), 0));
}

TEST_F(PluginHostTest, RefusesAbiMismatchNamingBothVersions) {
  Status s = host_->Start(Config({"test_abi_mismatch"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("test_abi_mismatch")) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("ABI 99.0")) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("provides ABI 1.")) << s.message();
}

TEST_F(PluginHostTest, RefusesDuplicateCommandIdNamingBothModules) {
  Status s = host_->Start(Config({"test_echo", "test_dup_cmd"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("0x7001")) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("'test_echo'")) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("'test_dup_cmd'")) << s.message();
}

TEST_F(PluginHostTest, ReportsTheReasonAnInitFailed) {
  Status s = host_->Start(Config({"test_init_fail"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("database says no")) << s.message();
}

TEST_F(PluginHostTest, RefusesLibraryWithoutEntrySymbol) {
  Status s = host_->Start(Config({"test_no_entry"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("does not export dbp_plugin_entry")) << s.message();
}

TEST_F(PluginHostTest, RefusesMissingFile) {
  Status s = host_->Start(Config({"no_such_module"}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("not found")) << s.message();
}

TEST_F(PluginHostTest, UnknownModuleConfigKeyFailsTheLoadWithASuggestion) {
  auto cfg = Config({"test_echo"});
  cfg.modules["test_echo"] = YAML::Load("greetin: hello");
  Status s = host_->Start(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("unknown key (did you mean 'greeting'?)"))
      << s.message();
}

TEST_F(PluginHostTest, WrongConfigTypeFailsTheLoad) {
  auto cfg = Config({"test_echo"});
  cfg.modules["test_echo"] = YAML::Load("fail_init: [1, 2]");
  Status s = host_->Start(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("'fail_init' must be a boolean")) << s.message();
}

TEST_F(PluginHostTest, FailedReloadKeepsTheServingGeneration) {
  ASSERT_TRUE(host_->Start(Config({"test_echo"})).ok());
  uint64_t before = host_->current()->id();
  ReloadResult r = host_->Reload(Config({"test_echo", "test_dup_cmd"}), "");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(before, host_->current()->id());
  EXPECT_NE(nullptr, host_->current()->Find(0x7001));
  EXPECT_EQ(0, metrics_.last_reload_successful.load());
  EXPECT_EQ(1u, metrics_.reload_failures.load());
  EXPECT_FALSE(host_->last_reload_error().empty());
}

TEST_F(PluginHostTest, ReloadReplacesOnlyChangedModulesAndUnloadsTheOldCopy) {
  ASSERT_TRUE(host_->Start(Config({"test_echo", "test_not_reloadable"})).ok());
  std::string old_staged = host_->Modules()[0].staged_path;
  ReloadResult r = host_->Reload(Config({"test_echo", "test_not_reloadable"}), "test_echo");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(std::vector<std::string>{"test_echo"}, r.loaded);
  EXPECT_EQ(std::vector<std::string>{"test_not_reloadable"}, r.unchanged);
  // The old generation is referenced by nobody, so the reaper (a 100 ms timer) unloads it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::filesystem::exists(old_staged) && std::chrono::steady_clock::now() < deadline) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(std::filesystem::exists(old_staged));
  EXPECT_EQ(1, metrics_.last_reload_successful.load());
}

TEST_F(PluginHostTest, NotReloadableModuleIsRefusedWithAReason) {
  ASSERT_TRUE(host_->Start(Config({"test_not_reloadable"})).ok());
  ReloadResult r = host_->Reload(Config({"test_not_reloadable"}), "test_not_reloadable");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(std::string::npos, r.error.find("not reloadable")) << r.error;
}

TEST_F(PluginHostTest, ConfigChangeReloadsThatModule) {
  ASSERT_TRUE(host_->Start(Config({"test_echo"})).ok());
  auto cfg = Config({"test_echo"});
  cfg.modules["test_echo"] = YAML::Load("greeting: hello");
  ReloadResult r = host_->Reload(cfg, "");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(std::vector<std::string>{"test_echo"}, r.loaded);
  ReloadResult again = host_->Reload(cfg, "");
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(std::vector<std::string>{"test_echo"}, again.unchanged);
}

TEST_F(PluginHostTest, DisablingAModuleRemovesItsCommands) {
  ASSERT_TRUE(host_->Start(Config({"test_echo", "test_not_reloadable"})).ok());
  ASSERT_NE(nullptr, host_->current()->Find(0x7101));
  auto r = host_->Reload(Config({"test_not_reloadable"}), "");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(nullptr, host_->current()->Find(0x7001));
  EXPECT_EQ(std::vector<std::string>{"test_echo"}, r.unloaded);
}

}  // namespace
}  // namespace dbproxy::plugin
