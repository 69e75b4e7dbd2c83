#pragma once

// DBP_PLUGIN(name, version, flags, Class): defines the one exported entry symbol of a
// plugin .so. Class derives from dbproxy::sdk::Plugin and is default-constructible. The
// descriptor is constant-initialized: no code runs at dlopen time.

#include <exception>
#include <memory>
#include <new>

#include "dbproxy/abi.h"
#include "dbproxy/sdk/plugin.h"

namespace dbproxy::sdk {

// What the host's opaque state pointer holds for a C++ plugin.
struct PluginInstance {
  PluginInstance(const dbp_host_api_t* api, dbp_plugin_t* p) : host(api, p) {}
  Host host;
  std::unique_ptr<Plugin> plugin;
};

template <typename T>
int InitPlugin(const dbp_host_api_t* api, dbp_plugin_t* p, void** state) {
  // Refuse hosts older than this header before touching any table entry past the first.
  if (api->abi_major != DBP_ABI_MAJOR || api->struct_size < sizeof(dbp_host_api_t)) {
    return DBP_E_STATE;
  }
  try {
    auto inst = std::make_unique<PluginInstance>(api, p);
    inst->plugin = std::make_unique<T>();
    Status s = inst->plugin->Init(inst->host);
    if (!s.ok()) {
      inst->host.SetError(s.message());
      return s.code() != DBP_OK ? s.code() : DBP_E_INTERNAL;
    }
    *state = inst.release();
    return DBP_OK;
  } catch (const std::exception& e) {
    (void)api->set_error(p, e.what());
    return DBP_E_INTERNAL;
  } catch (...) {
    (void)api->set_error(p, "init threw a non-standard exception");
    return DBP_E_INTERNAL;
  }
}

inline void ShutdownPlugin(void* state) {
  auto* inst = static_cast<PluginInstance*>(state);
  try {
    inst->plugin->Shutdown();
  } catch (...) {
    inst->host.Error("shutdown threw");
  }
  delete inst;
}

}  // namespace dbproxy::sdk

#define DBP_PLUGIN(NAME, VERSION, FLAGS, CLASS)                                             \
  extern "C" DBP_EXPORT const dbp_plugin_descriptor_t* dbp_plugin_entry(void) {             \
    static const dbp_plugin_descriptor_t kDescriptor = {sizeof(dbp_plugin_descriptor_t),    \
                                                        DBP_ABI_MAJOR,                      \
                                                        DBP_ABI_MINOR,                      \
                                                        NAME,                               \
                                                        VERSION,                            \
                                                        FLAGS,                              \
                                                        &::dbproxy::sdk::InitPlugin<CLASS>, \
                                                        &::dbproxy::sdk::ShutdownPlugin};   \
    return &kDescriptor;                                                                    \
  }
