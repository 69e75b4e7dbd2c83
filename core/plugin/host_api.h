#pragma once

// The one dbp_host_api_t table the host hands to every plugin, filled with functions that
// translate the C ABI into core calls. The table is static and immutable: any thread.

#include <cstddef>

#include "dbproxy/abi.h"

namespace dbproxy::plugin {

struct RequestContext;

const dbp_host_api_t* HostApi();

// Runs a request's handler on the calling (worker) thread with the generation pinned,
// records metrics, and counts a missing reply as an error. Used by the server for network
// requests and by call() for in-process ones.
void RunHandler(RequestContext& ctx);

// Runs the handler once for ctxs[0..count), count >= 1, all of one command entry: a batch
// command's handler gets them together; a plain handler is only ever given count == 1.
// Metrics count each request (each observes the batch's latency). ctxs stay the caller's.
void RunBatch(RequestContext* const* ctxs, size_t count);

}  // namespace dbproxy::plugin
