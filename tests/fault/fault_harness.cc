#include "tests/fault/fault_harness.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "tests/support/test_database.h"

#ifndef DBPROXY_FAULT_MODULES
#error "tests/fault/CMakeLists.txt defines DBPROXY_FAULT_MODULES"
#endif

namespace dbproxy::testing::fault {
namespace {

bool IsGroupType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_GROUP_TEXT ||
         type == IM::BaseDefine::MSG_TYPE_GROUP_AUDIO;
}

bool IsTextType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_SINGLE_TEXT ||
         type == IM::BaseDefine::MSG_TYPE_GROUP_TEXT;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  std::string item;
  for (char ch : text) {
    if (ch == ';' || ch == ',') {
      if (!item.empty()) {
        out.push_back(item);
      }
      item.clear();
    } else {
      item += ch;
    }
  }
  if (!item.empty()) {
    out.push_back(item);
  }
  return out;
}

}  // namespace

std::vector<std::string> BuiltModules() {
  std::vector<std::string> built = SplitList(DBPROXY_FAULT_MODULES);
  std::vector<std::string> out;
  for (const std::string& m : CatalogModules()) {
    if (std::find(built.begin(), built.end(), m) != built.end()) {
      out.push_back(m);
    }
  }
  if (std::find(built.begin(), built.end(), "audio") != built.end()) {
    out.push_back("audio");
  }
  return out;
}

bool ModuleBuilt(std::string_view module) {
  std::vector<std::string> built = BuiltModules();
  return std::find(built.begin(), built.end(), module) != built.end();
}

int NextRound() {
  static int round = 0;
  return ++round;
}

std::string CheckResponseHeader(const CommandCase& c, const WireClient::Frame& frame,
                                uint16_t seq) {
  std::ostringstream out;
  if (frame.command_id != c.response_cmd) {
    out << "command " << Hex16(frame.command_id) << " instead of " << Hex16(c.response_cmd) << "; ";
  }
  if (frame.service_id != c.service_id) {
    out << "service " << frame.service_id << " instead of " << c.service_id << "; ";
  }
  if (frame.seq != seq) {
    out << "seq " << frame.seq << " instead of " << seq << "; ";
  }
  if (frame.version != 1 || frame.flag != 0 || frame.reserved != 0) {
    out << "version/flag/reserved " << frame.version << "/" << frame.flag << "/" << frame.reserved
        << "; ";
  }
  if (frame.length != WireClient::kHeaderBytes + frame.body.size()) {
    out << "length " << frame.length << " for a " << frame.body.size() << "-byte body; ";
  }
  return out.str();
}

bool ParsesWhole(MessageLite* message, std::string_view bytes) {
  return message->ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
         message->IsInitialized();
}

std::string HexPrefix(std::string_view bytes, size_t max_bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(bytes[i]));
    out += buf;
  }
  if (bytes.size() > max_bytes) {
    out += "...";
  }
  return out.empty() ? "(empty)" : out;
}

std::string Hex16(uint16_t value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", value);
  return buf;
}

std::string HexAll(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (char ch : bytes) {
    std::snprintf(buf, sizeof buf, "%02X", static_cast<unsigned char>(ch));
    out += buf;
  }
  return out;
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

void MessageLedger::Start(TestDatabase* db) {
  db_ = db;
  baseline_rows_ = CountRows();
}

long MessageLedger::CountRows() const {
  std::string sql = "SELECT 0";
  for (int shard = 0; shard < 8; ++shard) {
    sql += " + (SELECT COUNT(*) FROM IMMessage_" + std::to_string(shard) +
           ") + (SELECT COUNT(*) FROM IMGroupMessage_" + std::to_string(shard) + ")";
  }
  return std::stol(db_->QueryValue(sql).value_or("-1"));
}

void MessageLedger::Record(const IM::Message::IMMsgData& answer) {
  if (answer.msg_id() == 0) {
    return;
  }
  Entry e;
  e.group = IsGroupType(answer.msg_type());
  e.from = answer.from_user_id();
  e.to = answer.to_session_id();
  e.msg_id = answer.msg_id();
  e.type = answer.msg_type();
  e.data = answer.msg_data();
  uint32_t a = e.group ? e.to : std::min(e.from, e.to);
  uint32_t b = e.group ? 0 : std::max(e.from, e.to);
  if (!seen_.insert({e.group, a, b, e.msg_id}).second) {
    duplicates_.push_back((e.group ? "group " : "users ") + std::to_string(a) + "/" +
                          std::to_string(b) + " msg_id " + std::to_string(e.msg_id));
  }
  entries_.push_back(std::move(e));
}

void MessageLedger::Verify() {
  std::vector<std::string> problems = duplicates_;
  duplicates_.clear();
  for (Entry& e : entries_) {
    if (e.verified) {
      continue;
    }
    std::string content =
        IsTextType(e.type) ? " AND HEX(content) = '" + HexAll(e.data) + "'" : std::string();
    std::string count;
    if (e.group) {
      count = db_->QueryValue("SELECT COUNT(*) FROM IMGroupMessage_" + std::to_string(e.to % 8) +
                              " WHERE groupId = " + std::to_string(e.to) +
                              " AND msgId = " + std::to_string(e.msg_id) +
                              " AND userId = " + std::to_string(e.from) + content)
                  .value_or("?");
    } else {
      std::vector<TestDatabase::Row> relations =
          db_->Query("SELECT id FROM IMRelationShip WHERE smallId = " +
                     std::to_string(std::min(e.from, e.to)) +
                     " AND bigId = " + std::to_string(std::max(e.from, e.to)));
      long found = 0;
      for (const TestDatabase::Row& r : relations) {
        long rid = std::stol(r[0].value_or("0"));
        found +=
            std::stol(db_->QueryValue("SELECT COUNT(*) FROM IMMessage_" + std::to_string(rid % 8) +
                                      " WHERE relateId = " + std::to_string(rid) +
                                      " AND msgId = " + std::to_string(e.msg_id) +
                                      " AND fromId = " + std::to_string(e.from) + content)
                          .value_or("0"));
      }
      count = std::to_string(found);
    }
    if (count != "1") {
      problems.push_back(std::string(e.group ? "group" : "single") + " message " +
                         std::to_string(e.from) + " -> " + std::to_string(e.to) +
                         " answered msg_id " + std::to_string(e.msg_id) + " has " + count +
                         " matching rows (content " + HexPrefix(e.data, 24) + ")");
    }
    e.verified = true;
  }
  long rows = CountRows();
  long expected = baseline_rows_ + static_cast<long>(entries_.size());
  if (rows != expected) {
    problems.push_back("the shard tables hold " + std::to_string(rows) + " message rows, but " +
                       std::to_string(baseline_rows_) + " were there before and " +
                       std::to_string(entries_.size()) +
                       " sends were answered with a msg_id: a send answered msg_id 0 (or never "
                       "answered) was stored");
    baseline_rows_ += rows - expected;  // report each surplus once
  }
  for (const std::string& p : problems) {
    ADD_FAILURE() << p;
  }
}

}  // namespace dbproxy::testing::fault
