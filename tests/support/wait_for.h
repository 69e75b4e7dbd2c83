#pragma once

#include <chrono>
#include <thread>

namespace dbproxy::testing {

// Polls pred every 20 ms until it returns true or timeout_ms passes; returns its last
// result. For conditions another process makes true (a log line, a server-side state).
template <typename Pred>
bool WaitFor(Pred pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace dbproxy::testing
