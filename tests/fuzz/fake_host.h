#pragma once

// A dbp_host_api_t for fuzzing the real plugins in one process, with no daemon, no MariaDB
// and no Redis. Registration, config (every key reads its default), requests, replies and
// in-process calls between modules behave as in the daemon, synchronously on the calling
// thread; storage is answered by an in-process fake (see tests/fuzz/README.md):
//   MySQL: every statement succeeds with an empty result (0 rows, 0 affected, insert id 1);
//   Redis: counters (INCR, INCRBY, HINCRBY, ...) answer 1, everything else NIL, pipelines an
//          ARRAY of as many NIL/1 replies as commands were appended.
// Events are delivered synchronously to the subscribers, as the daemon does; timers are
// recorded and run only when RunTimers() is called. UnloadPlugins() ends every module as the
// daemon does on unload or hot reload (shutdown, then dlclose), so LeakSanitizer sees
// whatever a module keeps past its shutdown.
// Single-threaded: one fuzz input at a time.

#include <cstdint>
#include <string>
#include <vector>

#include "dbproxy/abi.h"

namespace dbproxy::fuzz {

struct Command {
  std::string module;
  uint16_t cmd_id = 0;
  uint32_t flags = 0;
  dbp_handler_fn fn = nullptr;              // single handler, or
  dbp_batch_handler_fn batch_fn = nullptr;  // batch handler
  uint32_t max_batch = 1;
  void* user = nullptr;
};

// Loads every module .so in dir (dlopen, entry, init with the fake host). Aborts if one
// fails to load or init: a fuzz run over half the modules would look like a pass.
void LoadPlugins(const std::string& dir, const std::vector<std::string>& modules);

// Calls every module's shutdown and dlcloses it, last loaded first, and forgets their
// commands, subscriptions and timers. Safe to call twice.
void UnloadPlugins();

// Every command registered by the loaded plugins, in registration order.
const std::vector<Command>& Commands();

// Runs one request (or, for a batch command, count requests with the given bodies) through
// its handler. Returns the number of replies the handler sent.
size_t Dispatch(const Command& c, const std::vector<std::string>& bodies);

// Delivers an event to its subscribers, as publish() does. Returns how many were called.
int Publish(const std::string& event, const std::string& data);

// Runs every registered timer once.
void RunTimers();

// How many requests of each command Dispatch() ran, and how many in-process calls reached
// it (call()), in Commands() order.
struct Reached {
  const Command* command;
  uint64_t dispatched = 0;
  uint64_t called = 0;
};
std::vector<Reached> ReachedCommands();
uint64_t PublishedEvents();  // events delivered to at least one subscriber

}  // namespace dbproxy::fuzz
