#include "plugins/user/config.h"

#include <cstdint>

namespace dbproxy::plugins::user {
namespace {

// Reads an integer key and checks it lies in [min, max].
sdk::Result<size_t> ReadSize(sdk::Host& host, const char* key, int64_t def, int64_t min,
                             int64_t max) {
  auto v = host.ConfigInt(key, def);
  if (!v.ok()) {
    return v.status();
  }
  if (*v < min || *v > max) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("user.", key, " must be between ", min, " and ",
                                                 max, ", got ", *v));
  }
  return static_cast<size_t>(*v);
}

}  // namespace

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  struct Key {
    const char* name;
    int64_t def;
    int64_t min;
    int64_t max;
    size_t* out;
  };
  const Key keys[] = {
      {"max_users_per_request", 1000, 1, 100000, &c.max_users_per_request},
      {"user_batch_size", 1000, 1, 100000, &c.user_batch_size},
      {"max_users_per_response", 20000, 1, 10000000, &c.max_users_per_response},
      {"max_response_bytes", 1048560, 1024, int64_t{1} << 30, &c.max_response_bytes},
      {"max_departments_per_response", 5000, 1, 1000000, &c.max_departments_per_response},
  };
  for (const Key& k : keys) {
    auto v = ReadSize(host, k.name, k.def, k.min, k.max);
    if (!v.ok()) {
      return v.status();
    }
    *k.out = *v;
  }
  return c;
}

}  // namespace dbproxy::plugins::user
