#pragma once

// What a dbp_request_t* points at: one request on its way through a handler. Created on
// the loop thread (network requests) or on a worker (in-process calls); used by one thread
// at a time.

#include <cstdint>
#include <memory>
#include <string>

#include "core/net/frame_header.h"
#include "dbproxy/abi.h"

namespace dbproxy::plugin {

class Generation;
struct CommandEntry;

struct RequestContext {
  uint64_t conn_id = 0;  // 0 for in-process calls
  net::FrameHeader header;
  std::string body;
  std::shared_ptr<const Generation> generation;  // pinned for the whole request
  const CommandEntry* entry = nullptr;
  uint64_t enqueued_us = 0;
  bool replied = false;
  // In-process call(): the reply goes to this callback instead of a connection.
  dbp_call_reply_fn call_reply = nullptr;
  void* call_user = nullptr;
};

}  // namespace dbproxy::plugin
