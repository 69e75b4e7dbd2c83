#pragma once

// Builds, swaps and drains generations of plugin modules. A reload builds a new generation
// beside the current one (changed modules loaded from a unique path and initialised,
// unchanged ones shared), validates it as a whole, and publishes it with one pointer swap;
// any failure keeps the current generation and reports why. Retired modules are shut down
// and unloaded on the loop thread once no request, timer or generation references them.
// Loop thread only (the thread that runs the event loop), except where noted.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/plugin/generation.h"

namespace dbproxy::dispatch {
class WorkerPool;
}

namespace dbproxy::plugin {

struct HostServices;

struct ModuleStatus {
  std::string name;
  std::string version;
  std::string abi;
  std::string state;  // active | draining
  uint64_t generation = 0;
  int64_t in_flight = 0;
  bool reloadable = false;
  std::vector<uint16_t> commands;
  std::string path;
  std::string staged_path;
  std::string content_hash;
  std::string last_error;  // why the last attempt to (re)load this module failed, if it did
};

struct ReloadResult {
  bool ok = false;
  std::string error;                  // why the reload was refused
  uint64_t generation = 0;            // serving generation afterwards
  std::vector<std::string> loaded;    // new or replaced modules
  std::vector<std::string> unloaded;  // disabled modules (drain, then unload)
  std::vector<std::string> unchanged;
  std::vector<std::string> restart_required;  // changed settings that only a restart applies
};

class Host {
 public:
  Host(uv_loop_t* loop, dispatch::WorkerPool* workers, HostServices* services);
  ~Host();  // Shutdown()s
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Loads the enabled modules as the first generation.
  Status Start(const config::PluginsConfig& cfg);

  // Applies cfg. Modules whose file or config section changed are reloaded; force_module
  // (if not empty) is reloaded even when unchanged.
  ReloadResult Reload(const config::PluginsConfig& cfg, const std::string& force_module);

  // The generation new requests start on. Never null after Start().
  const std::shared_ptr<const Generation>& current() const { return current_; }

  // Stops timers, retires every module and waits (bounded) for them to unload.
  void Shutdown();

  std::vector<ModuleStatus> Modules() const;
  const std::string& last_reload_error() const { return last_error_; }

 private:
  struct ModuleTimers;
  Result<std::shared_ptr<Module>> LoadModule(const config::PluginsConfig& cfg,
                                             const std::string& name, uint64_t generation_id);
  void StartTimers(const std::shared_ptr<Module>& m);
  void StopTimers(const Module* m);
  void Reap();
  static void OnReapTimer(uv_timer_t* t);

  uv_loop_t* loop_;
  dispatch::WorkerPool* workers_;
  HostServices* services_;
  config::PluginsConfig config_;
  std::shared_ptr<const Generation> current_;
  std::vector<std::shared_ptr<Module>> retired_;
  std::map<const Module*, std::vector<uv_timer_t*>> timers_;
  uv_timer_t* reap_timer_ = nullptr;
  uint64_t next_generation_ = 1;
  std::string last_error_;
  std::map<std::string, std::string> module_errors_;  // module name -> last load failure
};

}  // namespace dbproxy::plugin
