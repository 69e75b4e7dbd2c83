#pragma once

// One loaded plugin instance (the thing a dbp_plugin_t* points at): its library, its
// registrations, its config section and its state pointer. Registrations are written only
// during init on the control thread and are read-only afterwards, so workers read them
// without locks. Shared by every generation that contains it (shared_ptr).

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "dbproxy/abi.h"

namespace dbproxy::plugin {

struct HostServices;
class LoadedLibrary;

struct CommandRegistration {
  uint16_t cmd_id;
  uint32_t flags;
  dbp_handler_fn fn;  // null for a batch command
  dbp_order_key_fn order_key;
  void* user;
  dbp_batch_handler_fn batch_fn = nullptr;  // non-null: a batch command (fn is null)
  uint32_t max_batch = 1;
  uint32_t max_running = 0;  // batches running at once; 0 = as many as there are workers
};

struct Subscription {
  std::string event;
  dbp_event_fn fn;
  void* user;
};

struct TimerRegistration {
  uint32_t interval_ms;
  dbp_timer_fn fn;
  void* user;
  std::shared_ptr<std::atomic<bool>> running;  // keeps a slow timer from overlapping itself
};

class Module {
 public:
  Module(std::string name, std::unique_ptr<LoadedLibrary> library, YAML::Node config,
         HostServices* services, uint64_t generation_id);
  // Calls shutdown (if init succeeded) then unloads the library. Control thread.
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Runs the plugin's init with registration open. On failure error() says why and the
  // registrations are discarded.
  int Init(const dbp_host_api_t* api);

  const std::string& name() const { return name_; }
  const dbp_plugin_descriptor_t& descriptor() const;
  LoadedLibrary& library() { return *library_; }
  uint64_t generation_id() const { return generation_id_; }
  HostServices* services() const { return services_; }
  spdlog::logger& logger() const { return *logger_; }
  const std::string& error() const { return error_; }
  const std::string& config_fingerprint() const { return config_fingerprint_; }

  const std::vector<CommandRegistration>& commands() const { return commands_; }
  const std::vector<Subscription>& subscriptions() const { return subscriptions_; }
  const std::vector<TimerRegistration>& timers() const { return timers_; }

  // In-flight handler/timer/event calls running this module's code.
  std::atomic<int64_t>& in_flight() { return in_flight_; }

  // ---- Used by host_api.cc while init runs.
  bool in_init() const { return in_init_; }
  void AddCommand(CommandRegistration c) { commands_.push_back(c); }
  void AddSubscription(Subscription s) { subscriptions_.push_back(std::move(s)); }
  void AddTimer(TimerRegistration t) { timers_.push_back(std::move(t)); }
  void SetError(std::string e) { error_ = std::move(e); }
  // Finds a key of the module's config section and remembers that it was read.
  YAML::Node ConfigKey(const std::string& key);
  const char* KeepString(std::string s);  // storage for config_string results

 private:
  const std::string name_;
  std::unique_ptr<LoadedLibrary> library_;
  YAML::Node config_;
  std::string config_fingerprint_;  // YAML text of the section, to see if a reload changed it
  HostServices* services_;
  const uint64_t generation_id_;
  std::shared_ptr<spdlog::logger> logger_;
  bool in_init_ = false;
  bool initialized_ = false;
  void* state_ = nullptr;
  std::string error_;
  std::set<std::string> read_keys_;
  std::deque<std::string> kept_strings_;
  std::vector<CommandRegistration> commands_;
  std::vector<Subscription> subscriptions_;
  std::vector<TimerRegistration> timers_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace dbproxy::plugin
