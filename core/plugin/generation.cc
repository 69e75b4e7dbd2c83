#include "core/plugin/generation.h"

#include <sstream>

#include "core/admin/metrics.h"
#include "core/plugin/host_services.h"

namespace dbproxy::plugin {
namespace {

// Host-side thread-local (the core is never unloaded, so no TLS destructor hazard).
thread_local const std::shared_ptr<const Generation>* t_current = nullptr;

}  // namespace

Result<std::shared_ptr<const Generation>> Generation::Build(
    uint64_t id, std::vector<std::shared_ptr<Module>> modules, HostServices* services) {
  std::shared_ptr<Generation> gen(new Generation());
  gen->id_ = id;
  for (const auto& m : modules) {
    for (const CommandRegistration& c : m->commands()) {
      auto [it, inserted] = gen->commands_.try_emplace(c.cmd_id, CommandEntry{m.get(), c, nullptr});
      if (!inserted) {
        std::ostringstream msg;
        msg << "command id 0x" << std::hex << c.cmd_id << " is claimed by both module '"
            << it->second.module->name() << "' and module '" << m->name() << "'";
        return Status(DBP_E_CONFLICT, msg.str());
      }
      it->second.stats = services->metrics->ForCommand(c.cmd_id);
    }
    for (const Subscription& s : m->subscriptions()) {
      gen->subscribers_[s.event].push_back(SubscriberEntry{m.get(), &s});
    }
  }
  gen->modules_ = std::move(modules);
  return std::shared_ptr<const Generation>(std::move(gen));
}

const CommandEntry* Generation::Find(uint16_t cmd_id) const {
  auto it = commands_.find(cmd_id);
  return it == commands_.end() ? nullptr : &it->second;
}

const std::vector<SubscriberEntry>& Generation::Subscribers(const std::string& event) const {
  static const std::vector<SubscriberEntry> kNone;
  auto it = subscribers_.find(event);
  return it == subscribers_.end() ? kNone : it->second;
}

std::shared_ptr<Module> Generation::FindModule(const std::string& name) const {
  for (const auto& m : modules_) {
    if (m->name() == name) {
      return m;
    }
  }
  return nullptr;
}

const std::shared_ptr<const Generation>* Generation::Current() { return t_current; }

Generation::RunScope::RunScope(const std::shared_ptr<const Generation>* gen)
    : previous_(t_current) {
  t_current = gen;
}

Generation::RunScope::~RunScope() { t_current = previous_; }

}  // namespace dbproxy::plugin
