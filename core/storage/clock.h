#pragma once

#include <sys/time.h>

#include <cstdint>

namespace dbproxy::storage {

// Milliseconds of the steady clock: deadlines and back-offs in the pools, never wall time.
// Thread-safe.
int64_t SteadyNowMs();

// ms as a timeval for hiredis and socket timeouts. Never zero: zero means "block forever"
// to hiredis and the kernel, so 0 becomes 1 ms.
timeval ToTimeval(uint32_t ms);

}  // namespace dbproxy::storage
