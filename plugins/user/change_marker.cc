#include "plugins/user/change_marker.h"

#include <string>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::user {

void WriteChangeMarker(const sdk::Host& host, uint32_t now) {
  std::string value = keys::Num(now);
  auto reply =
      host.RedisInstance(keys::kUnreadInstance).Command({"SET", keys::kTotalUserUpdate, value});
  if (!reply.ok() || reply->is_error()) {
    host.Warn("cannot write ", keys::kTotalUserUpdate, ": ",
              reply.ok() ? std::string(reply->str()) : reply.status().message());
    host.Count("marker_write_errors");
  }
}

}  // namespace dbproxy::plugins::user
