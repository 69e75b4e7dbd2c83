#pragma once

// An immutable set of initialised modules plus the dispatch table built from their
// registrations. Published by the Host with one pointer swap; every request pins the
// generation it started on (shared_ptr), so a module is never unloaded under a running
// handler. Read-only after Build(): any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"
#include "core/plugin/module.h"

namespace dbproxy::admin {
struct CommandStats;
}

namespace dbproxy::plugin {

struct CommandEntry {
  Module* module;
  CommandRegistration reg;
  admin::CommandStats* stats;
};

struct SubscriberEntry {
  Module* module;
  const Subscription* sub;
};

class Generation {
 public:
  // Validates the modules' registrations as a whole: two modules claiming one command id
  // fail with a message naming both.
  static Result<std::shared_ptr<const Generation>> Build(
      uint64_t id, std::vector<std::shared_ptr<Module>> modules, HostServices* services);

  uint64_t id() const { return id_; }
  const std::vector<std::shared_ptr<Module>>& modules() const { return modules_; }
  // nullptr if no module handles cmd_id.
  const CommandEntry* Find(uint16_t cmd_id) const;
  const std::vector<SubscriberEntry>& Subscribers(const std::string& event) const;
  std::shared_ptr<Module> FindModule(const std::string& name) const;

  // The generation whose code the current worker thread is running (set by RunScope).
  static const std::shared_ptr<const Generation>* Current();

  // Marks the calling thread as running code of gen for the scope's lifetime.
  class RunScope {
   public:
    explicit RunScope(const std::shared_ptr<const Generation>* gen);
    ~RunScope();
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    const std::shared_ptr<const Generation>* previous_;
  };

 private:
  Generation() = default;

  uint64_t id_ = 0;
  std::vector<std::shared_ptr<Module>> modules_;
  std::unordered_map<uint16_t, CommandEntry> commands_;
  std::unordered_map<std::string, std::vector<SubscriberEntry>> subscribers_;
};

}  // namespace dbproxy::plugin
