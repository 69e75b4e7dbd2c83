#pragma once

// The one place uv handle memory is released: from the close callback, never earlier
// (freeing a handle before its close callback runs is a use-after-free under load).
// Loop thread only.

#include <uv.h>

namespace dbproxy::loop {

// Closes a heap-allocated handle (allocated with `new H`) and deletes it once libuv is done.
template <typename H>
void CloseAndDelete(H* handle) {
  auto* h = reinterpret_cast<uv_handle_t*>(handle);
  if (uv_is_closing(h)) {
    return;
  }
  uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<H*>(closed); });
}

}  // namespace dbproxy::loop
