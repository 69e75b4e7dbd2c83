#include "core/plugin/host.h"

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "core/admin/metrics.h"
#include "core/base/log.h"
#include "core/dispatch/worker_pool.h"
#include "core/loop/uv_owner.h"
#include "core/plugin/host_api.h"
#include "core/plugin/host_services.h"
#include "core/plugin/loader.h"

namespace dbproxy::plugin {
namespace {

constexpr uint64_t kReapIntervalMs = 100;

struct TimerContext {
  Host* host;
  Module* module;
  const TimerRegistration* reg;
  std::function<void()> fire;
};

YAML::Node SectionOf(const config::PluginsConfig& cfg, const std::string& name) {
  auto it = cfg.modules.find(name);
  return it == cfg.modules.end() ? YAML::Node(YAML::NodeType::Null) : YAML::Clone(it->second);
}

std::string Fingerprint(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

std::string ModulePath(const config::PluginsConfig& cfg, const std::string& name) {
  return cfg.directory + "/" + name + ".so";
}

}  // namespace

Host::Host(uv_loop_t* loop, dispatch::WorkerPool* workers, HostServices* services)
    : loop_(loop), workers_(workers), services_(services) {
  reap_timer_ = new uv_timer_t;
  uv_timer_init(loop_, reap_timer_);
  reap_timer_->data = this;
  uv_timer_start(reap_timer_, &Host::OnReapTimer, kReapIntervalMs, kReapIntervalMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(reap_timer_));
}

Host::~Host() {
  Shutdown();
  if (reap_timer_ != nullptr) {
    loop::CloseAndDelete(reap_timer_);
  }
}

Status Host::Start(const config::PluginsConfig& cfg) {
  ReloadResult r = Reload(cfg, "");
  if (!r.ok) {
    return Status(DBP_E_CONFIG, r.error);
  }
  return Status::Ok();
}

Result<std::shared_ptr<Module>> Host::LoadModule(const config::PluginsConfig& cfg,
                                                 const std::string& name, uint64_t generation_id) {
  auto lib = LoadLibrary(ModulePath(cfg, name), cfg.staging_directory, name);
  if (!lib.ok()) {
    return lib.status();
  }
  auto module = std::make_shared<Module>(name, std::move(lib).value(), SectionOf(cfg, name),
                                         services_, generation_id);
  int rc = module->Init(HostApi());
  if (rc != DBP_OK) {
    return Status(rc, "plugin '" + name + "' failed to initialise: " + module->error());
  }
  return module;
}

ReloadResult Host::Reload(const config::PluginsConfig& cfg, const std::string& force_module) {
  ReloadResult result;
  const uint64_t gen_id = next_generation_++;
  services_->metrics->reloads_total.fetch_add(1);

  std::map<std::string, std::shared_ptr<Module>> old;
  if (current_) {
    for (const auto& m : current_->modules()) {
      old[m->name()] = m;
    }
  }
  if (!force_module.empty() &&
      std::find(cfg.enabled.begin(), cfg.enabled.end(), force_module) == cfg.enabled.end()) {
    result.error = "module '" + force_module + "' is not enabled";
  }

  std::vector<std::shared_ptr<Module>> modules;
  std::vector<std::shared_ptr<Module>> fresh;  // loaded by this reload
  for (const std::string& name : cfg.enabled) {
    if (!result.error.empty()) {
      break;
    }
    auto it = old.find(name);
    if (it != old.end()) {
      const auto& prev = it->second;
      bool same_file = FileFingerprint(ModulePath(cfg, name)) == prev->library().content_hash() &&
                       ModulePath(cfg, name) == prev->library().source_path();
      bool same_config = Fingerprint(SectionOf(cfg, name)) == prev->config_fingerprint();
      if (same_file && same_config && name != force_module) {
        modules.push_back(prev);
        result.unchanged.push_back(name);
        continue;
      }
      if ((prev->descriptor().flags & DBP_PLUGIN_RELOADABLE) == 0) {
        result.error =
            "module '" + name + "' declares itself not reloadable; restart dbproxyd to change it";
        break;
      }
    }
    auto loaded = LoadModule(cfg, name, gen_id);
    if (!loaded.ok()) {
      result.error = loaded.status().message();
      module_errors_[name] = result.error;
      break;
    }
    module_errors_.erase(name);
    modules.push_back(*loaded);
    fresh.push_back(*loaded);
    result.loaded.push_back(name);
  }
  for (const auto& [name, m] : old) {
    if (std::find(cfg.enabled.begin(), cfg.enabled.end(), name) == cfg.enabled.end()) {
      if ((m->descriptor().flags & DBP_PLUGIN_RELOADABLE) == 0 && result.error.empty()) {
        result.error = "module '" + name +
                       "' declares itself not reloadable and cannot be disabled without a restart";
      }
      result.unloaded.push_back(name);
    }
  }

  std::shared_ptr<const Generation> next;
  if (result.error.empty()) {
    auto built = Generation::Build(gen_id, modules, services_);
    if (built.ok()) {
      next = *built;
    } else {
      result.error = built.status().message();
    }
  }
  auto& metrics = *services_->metrics;
  metrics.last_reload_timestamp.store(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  if (!result.error.empty()) {
    // Nothing of the attempt stays: new modules are shut down and unloaded right here.
    fresh.clear();
    modules.clear();
    metrics.reload_failures.fetch_add(1);
    metrics.last_reload_successful.store(0);
    last_error_ = result.error;
    result.generation = current_ ? current_->id() : 0;
    log::Get("plugin")->error("reload refused, generation {} keeps serving: {}", result.generation,
                              result.error);
    return result;
  }

  // Swap. Modules that left the set keep running their in-flight work, then get reaped.
  std::set<const Module*> kept;
  for (const auto& m : next->modules()) {
    kept.insert(m.get());
  }
  for (const auto& [name, m] : old) {
    if (!kept.count(m.get())) {
      StopTimers(m.get());
      retired_.push_back(m);
    }
  }
  current_ = next;
  config_ = cfg;
  for (const auto& m : fresh) {
    StartTimers(m);
  }
  metrics.generation.store(next->id());
  metrics.last_reload_successful.store(1);
  last_error_.clear();
  result.ok = true;
  result.generation = next->id();
  log::Get("plugin")->info("generation {} serving: {} loaded, {} unchanged, {} retired", next->id(),
                           result.loaded.size(), result.unchanged.size(), retired_.size());
  return result;
}

void Host::StartTimers(const std::shared_ptr<Module>& m) {
  for (const TimerRegistration& reg : m->timers()) {
    auto* t = new uv_timer_t;
    uv_timer_init(loop_, t);
    auto* ctx = new TimerContext{this, m.get(), &reg, nullptr};
    t->data = ctx;
    uv_timer_start(
        t,
        [](uv_timer_t* timer) {
          auto* c = static_cast<TimerContext*>(timer->data);
          // A slow timer is skipped rather than stacked up.
          if (c->reg->running->exchange(true)) {
            return;
          }
          std::shared_ptr<const Generation> gen = c->host->current_;
          auto running = c->reg->running;
          dbp_timer_fn fn = c->reg->fn;
          void* user = c->reg->user;
          Module* module = c->module;
          c->host->workers_->Submit([gen, running, fn, user, module] {
            Generation::RunScope scope(&gen);
            module->in_flight().fetch_add(1, std::memory_order_relaxed);
            fn(user);
            module->in_flight().fetch_sub(1, std::memory_order_relaxed);
            running->store(false);
          });
        },
        reg.interval_ms, reg.interval_ms);
    uv_unref(reinterpret_cast<uv_handle_t*>(t));
    timers_[m.get()].push_back(t);
  }
}

void Host::StopTimers(const Module* m) {
  auto it = timers_.find(m);
  if (it == timers_.end()) {
    return;
  }
  for (uv_timer_t* t : it->second) {
    uv_timer_stop(t);
    delete static_cast<TimerContext*>(t->data);
    loop::CloseAndDelete(t);
  }
  timers_.erase(it);
}

void Host::OnReapTimer(uv_timer_t* t) { static_cast<Host*>(t->data)->Reap(); }

void Host::Reap() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    // use_count 1: only this list holds it; no generation, request or timer task does.
    if (it->use_count() == 1 && (*it)->in_flight().load() == 0) {
      log::Get("plugin")->info("module '{}' of generation {} drained; unloading", (*it)->name(),
                               (*it)->generation_id());
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void Host::Shutdown() {
  if (current_) {
    for (const auto& m : current_->modules()) {
      StopTimers(m.get());
      retired_.push_back(m);
    }
    current_.reset();
  }
  // In-flight work was drained by the server before this; wait briefly for stragglers.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!retired_.empty() && std::chrono::steady_clock::now() < deadline) {
    Reap();
    if (!retired_.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (!retired_.empty()) {
    log::Get("plugin")->warn("{} module(s) still referenced at shutdown; left mapped",
                             retired_.size());
    for (auto& m : retired_) {
      new std::shared_ptr<Module>(m);  // deliberately leaked: never unmap live code
    }
    retired_.clear();
  }
}

std::vector<ModuleStatus> Host::Modules() const {
  std::vector<ModuleStatus> out;
  auto describe = [&](const std::shared_ptr<Module>& m, const char* state) {
    ModuleStatus s;
    s.name = m->name();
    const auto& d = m->descriptor();
    s.version = d.version ? d.version : "";
    s.abi = std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor);
    s.state = state;
    s.generation = m->generation_id();
    s.in_flight = m->in_flight().load();
    s.reloadable = (d.flags & DBP_PLUGIN_RELOADABLE) != 0;
    for (const auto& c : m->commands()) {
      s.commands.push_back(c.cmd_id);
    }
    s.path = m->library().source_path();
    s.staged_path = m->library().staged_path();
    s.content_hash = m->library().content_hash();
    if (auto it = module_errors_.find(m->name()); it != module_errors_.end()) {
      s.last_error = it->second;
    }
    out.push_back(std::move(s));
  };
  if (current_) {
    for (const auto& m : current_->modules()) {
      describe(m, "active");
    }
  }
  for (const auto& m : retired_) {
    describe(m, "draining");
  }
  return out;
}

}  // namespace dbproxy::plugin
