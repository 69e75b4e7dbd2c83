#include "plugins/file/config.h"

namespace dbproxy::plugins::file {

sdk::Result<Config> LoadConfig(sdk::Host& host) {
  Config c;
  auto max_files = host.ConfigInt("max_offline_files", 1000);
  if (!max_files.ok()) {
    return max_files.status();
  }
  if (*max_files < 1 || *max_files > 100000) {
    return sdk::Status(DBP_E_CONFIG, sdk::StrCat("file.max_offline_files must be between 1 and "
                                                 "100000, got ",
                                                 *max_files));
  }
  c.max_offline_files = static_cast<size_t>(*max_files);
  return c;
}

}  // namespace dbproxy::plugins::file
