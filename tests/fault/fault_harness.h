#pragma once

// What the fault suites share beyond tests/support: which modules this tree built, a ledger
// of message ids the daemon reported stored (checked against the shard tables), response
// header checks, and small formatting helpers. Thread rule: one thread at a time.

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tests/fault/command_catalog.h"
#include "tests/support/wire_client.h"

namespace IM::Message {
class IMMsgData;
}

namespace dbproxy::testing {
class TestDatabase;
}

namespace dbproxy::testing::fault {

// The modules built in this tree (DBPROXY_FAULT_MODULES, set by tests/fault/CMakeLists.txt),
// in Catalog() order plus "audio" when built.
std::vector<std::string> BuiltModules();
bool ModuleBuilt(std::string_view module);

// A number no earlier caller in this process got; valid_body() rounds come from here.
int NextRound();

// "" if frame is a proper answer of c to a request with this seq: c's response command
// and service id, the seq, version 1, flag 0, reserved 0, length = 16 + body.
std::string CheckResponseHeader(const CommandCase& c, const WireClient::Frame& frame, uint16_t seq);

// Parses bytes into *message and checks every required field is there, without the error
// log line ParseFromString() writes for a lite message that lacks one.
bool ParsesWhole(MessageLite* message, std::string_view bytes);

std::string HexPrefix(std::string_view bytes, size_t max_bytes);
std::string Hex16(uint16_t value);           // "0x0301"
std::string HexAll(std::string_view bytes);  // for SQL: HEX(column) = '<this>'

// VmRSS of a process in KiB, -1 if it cannot be read.
long RssKb(pid_t pid);

// Messages the daemon answered with a msg_id, to be found in the shard tables.
class MessageLedger {
 public:
  // Counts the message rows already stored; Verify() expects exactly these plus the
  // recorded ones. REQUIRES: db outlives the ledger.
  void Start(TestDatabase* db);

  // Keeps an answer to 0x0301 (the request echoed with msg_id set) if msg_id != 0.
  void Record(const IM::Message::IMMsgData& answer);

  // Adds a test failure unless every recorded message has its row (right table, conversation,
  // msg id, sender, and for text the exact content), no msg id of one conversation was
  // answered twice, and the shard tables hold no other new row.
  void Verify();

  size_t recorded() const { return entries_.size(); }

  // Rows in IMMessage_0..7 and IMGroupMessage_0..7.
  long CountRows() const;

 private:
  struct Entry {
    bool group = false;
    uint32_t from = 0;
    uint32_t to = 0;
    uint32_t msg_id = 0;
    uint32_t type = 0;
    std::string data;
    bool verified = false;
  };

  TestDatabase* db_ = nullptr;
  long baseline_rows_ = 0;
  std::vector<Entry> entries_;
  std::set<std::tuple<bool, uint32_t, uint32_t, uint32_t>> seen_;  // group, a, b, msg_id
  std::vector<std::string> duplicates_;
};

}  // namespace dbproxy::testing::fault
