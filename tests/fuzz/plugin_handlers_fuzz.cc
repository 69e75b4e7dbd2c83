// libFuzzer target: every command's request decode and validation as its handler sees it.
// The real module .so files are dlopened and initialised against tests/fuzz/fake_host.cc;
// the fuzzer then calls their registered handlers directly. Input layout:
//   byte 0-1  command id (big-endian) — any registered id, or an index into the registry
//             when it is not one (so every command is reachable from random bytes);
//             0xffff publishes the rest as a "message.stored" event to its subscribers
//             (session, unread), 0xfffe runs every module timer once (repair queues)
//   byte 2    for a batch command (0x0301, 0x0307, ...): how many requests, 1..8
//   rest      the body; a batch splits it at 0xff 0xfe 0xfd markers into request bodies
// Every request must get exactly one reply (none for DBP_CMD_NO_REPLY commands), and
// nothing may crash, leak or trip a sanitizer. At exit the target prints how many requests
// reached each command ("plugin_handlers: dispatched ...", then "never dispatched: ..."),
// and unloads every module the way the daemon does (shutdown, dlclose), so a module that
// keeps memory past its shutdown is a LeakSanitizer report.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "plugins/common/events.h"
#include "tests/fuzz/fake_host.h"

#ifndef DBPROXY_FUZZ_PLUGIN_DIR
#error "DBPROXY_FUZZ_PLUGIN_DIR must name the directory of the built modules"
#endif

namespace {

#ifndef DBPROXY_FUZZ_MODULES
#error "DBPROXY_FUZZ_MODULES must list the modules to load (comma-separated)"
#endif

std::vector<std::string> Modules() {
  std::vector<std::string> out;
  std::string_view list(DBPROXY_FUZZ_MODULES);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    out.emplace_back(list.substr(0, comma));
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  return out;
}

std::vector<std::string> SplitBatch(std::string_view body, size_t count) {
  std::vector<std::string> out;
  constexpr std::string_view kMarker("\xff\xfe\xfd", 3);
  while (out.size() + 1 < count) {
    const size_t at = body.find(kMarker);
    if (at == std::string_view::npos) {
      break;
    }
    out.emplace_back(body.substr(0, at));
    body.remove_prefix(at + kMarker.size());
  }
  out.emplace_back(body);
  while (out.size() < count) {
    out.push_back(out.back());  // the same request twice in one batch is a case too
  }
  return out;
}

constexpr uint16_t kPublishStored = 0xffff;
constexpr uint16_t kRunTimers = 0xfffe;

void ReportAndUnload() {
  std::string never;
  for (const auto& r : dbproxy::fuzz::ReachedCommands()) {
    std::printf("plugin_handlers: dispatched 0x%04x %-12s %10llu requests, %llu calls\n",
                r.command->cmd_id, r.command->module.c_str(),
                static_cast<unsigned long long>(r.dispatched),
                static_cast<unsigned long long>(r.called));
    if (r.dispatched == 0 && r.called == 0) {
      char id[8];
      std::snprintf(id, sizeof(id), "0x%04x", r.command->cmd_id);
      never += never.empty() ? id : std::string(" ") + id;
    }
  }
  std::printf("plugin_handlers: message.stored events delivered: %llu\n",
              static_cast<unsigned long long>(dbproxy::fuzz::PublishedEvents()));
  std::printf("plugin_handlers: never dispatched: %s\n", never.empty() ? "none" : never.c_str());
  std::fflush(stdout);
  dbproxy::fuzz::UnloadPlugins();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every rejected body would print a line: that is most inputs, and slow.
  google::protobuf::SetLogHandler(nullptr);
  const char* dir = std::getenv("DBPROXY_FUZZ_PLUGIN_DIR");
  dbproxy::fuzz::LoadPlugins(dir != nullptr ? dir : DBPROXY_FUZZ_PLUGIN_DIR, Modules());
  if (std::getenv("DBPROXY_FUZZ_LIST") != nullptr) {
    for (const auto& c : dbproxy::fuzz::Commands()) {
      std::printf("%s 0x%04x%s\n", c.module.c_str(), c.cmd_id, c.batch_fn ? " batch" : "");
    }
  }
  // Registered after LeakSanitizer's own exit hook, so it runs first.
  std::atexit(ReportAndUnload);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& commands = dbproxy::fuzz::Commands();
  if (size < 3 || commands.empty()) {
    return 0;
  }
  const uint16_t id = static_cast<uint16_t>((data[0] << 8) | data[1]);
  if (id == kPublishStored) {
    dbproxy::fuzz::Publish(dbproxy::plugins::events::kMessageStored,
                           std::string(reinterpret_cast<const char*>(data + 3), size - 3));
    return 0;
  }
  if (id == kRunTimers) {
    dbproxy::fuzz::RunTimers();
    return 0;
  }
  const dbproxy::fuzz::Command* command = &commands[id % commands.size()];
  for (const auto& c : commands) {
    if (c.cmd_id == id) {
      command = &c;
      break;
    }
  }
  const std::string_view body(reinterpret_cast<const char*>(data + 3), size - 3);
  size_t count = 1;
  if (command->batch_fn != nullptr) {
    count = 1 + data[2] % 8;
    if (count > command->max_batch) {
      count = command->max_batch;
    }
  }
  const std::vector<std::string> bodies =
      count == 1 ? std::vector<std::string>{std::string(body)} : SplitBatch(body, count);
  const size_t replies = dbproxy::fuzz::Dispatch(*command, bodies);
  const size_t expected = (command->flags & DBP_CMD_NO_REPLY) != 0 ? 0 : bodies.size();
  if (replies != expected) {
    std::fprintf(stderr, "command 0x%04x: %zu replies to %zu requests\n", command->cmd_id, replies,
                 bodies.size());
    std::abort();
  }
  return 0;
}
