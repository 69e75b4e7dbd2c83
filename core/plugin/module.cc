#include "core/plugin/module.h"

#include <vector>

#include "core/base/log.h"
#include "core/config/yaml_loader.h"
#include "core/plugin/loader.h"

namespace dbproxy::plugin {

Module::Module(std::string name, std::unique_ptr<LoadedLibrary> library, YAML::Node config,
               HostServices* services, uint64_t generation_id)
    : name_(std::move(name)),
      library_(std::move(library)),
      config_(std::move(config)),
      services_(services),
      generation_id_(generation_id),
      logger_(log::Get("plugin." + name_)) {
  YAML::Emitter e;
  e << config_;
  config_fingerprint_ = e.c_str();
}

Module::~Module() {
  if (initialized_ && library_->descriptor().shutdown != nullptr) {
    library_->descriptor().shutdown(state_);
  }
  // Registrations point into the library's memory: drop them before it is unmapped.
  commands_.clear();
  subscriptions_.clear();
  timers_.clear();
  library_.reset();
}

const dbp_plugin_descriptor_t& Module::descriptor() const { return library_->descriptor(); }

int Module::Init(const dbp_host_api_t* api) {
  in_init_ = true;
  int rc = library_->descriptor().init(api, reinterpret_cast<dbp_plugin_t*>(this), &state_);
  in_init_ = false;
  if (rc != DBP_OK) {
    if (error_.empty()) {
      error_ = std::string("init returned ") + api->strerror(rc);
    }
    commands_.clear();
    subscriptions_.clear();
    timers_.clear();
    return rc;
  }
  initialized_ = true;
  // Keys nobody read are typos or settings of another version: refuse them loudly.
  if (config_.IsMap()) {
    std::vector<std::string> known(read_keys_.begin(), read_keys_.end());
    for (const auto& kv : config_) {
      std::string key = kv.first.as<std::string>();
      if (read_keys_.count(key)) {
        continue;
      }
      std::string hint = config::ClosestKey(key, known);
      error_ = "plugins.modules." + name_ + "." + key + ": unknown key" +
               (hint.empty() ? "" : " (did you mean '" + hint + "'?)");
      if (kv.first.Mark().line >= 0) {
        error_ = "line " + std::to_string(kv.first.Mark().line + 1) + ": " + error_;
      }
      if (library_->descriptor().shutdown != nullptr) {
        library_->descriptor().shutdown(state_);
      }
      initialized_ = false;
      commands_.clear();
      subscriptions_.clear();
      timers_.clear();
      return DBP_E_CONFIG;
    }
  }
  return DBP_OK;
}

YAML::Node Module::ConfigKey(const std::string& key) {
  read_keys_.insert(key);
  if (!config_.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  const YAML::Node& section = config_;  // const lookup: never inserts a key
  return section[key];
}

const char* Module::KeepString(std::string s) {
  kept_strings_.push_back(std::move(s));
  return kept_strings_.back().c_str();
}

}  // namespace dbproxy::plugin
