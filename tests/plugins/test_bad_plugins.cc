// Deliberately broken modules for the plugin-host tests. One source, one module per
// TEST_BAD_KIND value (set by CMake):
//   1 test_abi_mismatch  - built for ABI major 99
//   2 test_dup_cmd       - claims 0x7001, which test_echo owns
//   3 test_init_fail     - init reports an error
//   4 test_no_entry      - exports no entry symbol
//   5 test_not_reloadable- a valid module without DBP_PLUGIN_RELOADABLE

#include "dbproxy/sdk.h"

namespace {

[[maybe_unused]] int InitFail(const dbp_host_api_t* host, dbp_plugin_t* p, void**) {
  host->set_error(p, "database says no");
  return DBP_E_UNAVAILABLE;
}

[[maybe_unused]] int InitDup(const dbp_host_api_t* host, dbp_plugin_t* p, void**) {
  return host->register_command(
      p, 0x7001, 0, [](dbp_request_t*, void*) {}, nullptr, nullptr);
}

[[maybe_unused]] int InitNothing(const dbp_host_api_t* host, dbp_plugin_t* p, void**) {
  return host->register_command(
      p, 0x7101, 0,
      [](dbp_request_t* r, void* h) {
        static_cast<const dbp_host_api_t*>(h)->reply(r, 7, 0x7102, "fixed", 5);
      },
      nullptr, const_cast<dbp_host_api_t*>(host));
}

}  // namespace

#if TEST_BAD_KIND == 1
extern "C" DBP_EXPORT const dbp_plugin_descriptor_t* dbp_plugin_entry(void) {
  static const dbp_plugin_descriptor_t d = {
      sizeof(dbp_plugin_descriptor_t), 99,           0,      "test_abi_mismatch", "1",
      DBP_PLUGIN_RELOADABLE,           &InitNothing, nullptr};
  return &d;
}
#elif TEST_BAD_KIND == 2
extern "C" DBP_EXPORT const dbp_plugin_descriptor_t* dbp_plugin_entry(void) {
  static const dbp_plugin_descriptor_t d = {
      sizeof(dbp_plugin_descriptor_t), DBP_ABI_MAJOR, DBP_ABI_MINOR, "test_dup_cmd", "1",
      DBP_PLUGIN_RELOADABLE,           &InitDup,      nullptr};
  return &d;
}
#elif TEST_BAD_KIND == 3
extern "C" DBP_EXPORT const dbp_plugin_descriptor_t* dbp_plugin_entry(void) {
  static const dbp_plugin_descriptor_t d = {
      sizeof(dbp_plugin_descriptor_t), DBP_ABI_MAJOR, DBP_ABI_MINOR, "test_init_fail", "1",
      DBP_PLUGIN_RELOADABLE,           &InitFail,     nullptr};
  return &d;
}
#elif TEST_BAD_KIND == 4
// No entry symbol: only an unrelated function, hidden like everything else.
int test_no_entry_unused(void) { return 0; }
#elif TEST_BAD_KIND == 5
extern "C" DBP_EXPORT const dbp_plugin_descriptor_t* dbp_plugin_entry(void) {
  static const dbp_plugin_descriptor_t d = {sizeof(dbp_plugin_descriptor_t),
                                            DBP_ABI_MAJOR,
                                            DBP_ABI_MINOR,
                                            "test_not_reloadable",
                                            "1",
                                            0,
                                            &InitNothing,
                                            nullptr};
  return &d;
}
#endif
