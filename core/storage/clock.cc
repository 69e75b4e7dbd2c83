#include "core/storage/clock.h"

#include <algorithm>
#include <chrono>

namespace dbproxy::storage {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval ToTimeval(uint32_t ms) {
  ms = std::max(ms, 1u);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

}  // namespace dbproxy::storage
