#include "tests/cluster/invariants.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"

namespace dbproxy::testing::cluster {
namespace {

std::string S(uint64_t v) { return std::to_string(v); }
uint64_t U(const std::optional<std::string>& v) { return v ? std::stoull(*v) : 0; }

// A stored message row, by conversation: (group, id) where id is the relateId or groupId.
struct Row {
  uint32_t from = 0;
  uint32_t to = 0;
  uint32_t msg_id = 0;
  std::string content;
};
using Conversation = std::pair<bool, uint32_t>;

}  // namespace

void Ledger::RecordSend(SendRecord send) {
  std::lock_guard<std::mutex> lock(mutex_);
  sends_.push_back(std::move(send));
}

void Ledger::RecordRead(uint32_t user, bool group, uint32_t peer_or_group, uint32_t read_mark) {
  std::lock_guard<std::mutex> lock(mutex_);
  reads_[{user, group, peer_or_group}] = read_mark;
}

std::vector<SendRecord> Ledger::sends() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sends_;
}

std::map<std::tuple<uint32_t, bool, uint32_t>, uint32_t> Ledger::reads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reads_;
}

size_t Ledger::answered() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::count_if(sends_.begin(), sends_.end(),
                       [](const SendRecord& s) { return s.outcome == Outcome::kAnswered; });
}

uint32_t HighestMsgId(TestDatabase& db, bool group, uint32_t a, uint32_t b_or_0) {
  if (group) {
    return static_cast<uint32_t>(U(db.QueryValue("SELECT MAX(msgId) FROM IMGroupMessage_" +
                                                 S(a % 8) + " WHERE groupId = " + S(a))));
  }
  uint32_t small = std::min(a, b_or_0);
  uint32_t big = std::max(a, b_or_0);
  uint64_t highest = 0;
  for (const auto& r : db.Query("SELECT id FROM IMRelationShip WHERE smallId = " + S(small) +
                                " AND bigId = " + S(big))) {
    uint64_t rid = U(r[0]);
    highest = std::max(highest, U(db.QueryValue("SELECT MAX(msgId) FROM IMMessage_" + S(rid % 8) +
                                                " WHERE relateId = " + S(rid))));
  }
  return static_cast<uint32_t>(highest);
}

std::vector<std::string> Check(TestDatabase& db, TestRedis& redis, const Ledger& ledger,
                               const CheckOptions& options) {
  std::vector<std::string> problems;
  const std::vector<SendRecord> sends = ledger.sends();

  // Relations: pair -> relation ids; duplicates.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> relations;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> pair_of;
  for (const auto& r : db.Query("SELECT id, smallId, bigId FROM IMRelationShip")) {
    auto p = std::make_pair(static_cast<uint32_t>(U(r[1])), static_cast<uint32_t>(U(r[2])));
    relations[p].push_back(static_cast<uint32_t>(U(r[0])));
    pair_of[static_cast<uint32_t>(U(r[0]))] = p;
  }
  for (const auto& [p, ids] : relations) {
    if (ids.size() > 1) {
      problems.push_back("duplicate relation: " + S(ids.size()) + " IMRelationShip rows for " +
                         S(p.first) + "/" + S(p.second));
    }
  }
  for (const auto& r :
       db.Query("SELECT userId, peerId, type, COUNT(*) FROM IMRecentSession GROUP BY userId, "
                "peerId, type HAVING COUNT(*) > 1")) {
    problems.push_back("duplicate session: " + r[3].value_or("?") + " IMRecentSession rows for " +
                       r[0].value_or("?") + " -> " + r[1].value_or("?") + " type " +
                       r[2].value_or("?"));
  }

  // Every stored message row.
  std::map<Conversation, std::vector<Row>> rows;
  for (int shard = 0; shard < 8; ++shard) {
    for (const auto& r :
         db.Query("SELECT relateId, fromId, toId, msgId, content FROM IMMessage_" + S(shard))) {
      rows[{false, static_cast<uint32_t>(U(r[0]))}].push_back(
          {static_cast<uint32_t>(U(r[1])), static_cast<uint32_t>(U(r[2])),
           static_cast<uint32_t>(U(r[3])), r[4].value_or("")});
    }
    for (const auto& r :
         db.Query("SELECT groupId, userId, msgId, content FROM IMGroupMessage_" + S(shard))) {
      uint32_t gid = static_cast<uint32_t>(U(r[0]));
      rows[{true, gid}].push_back(
          {static_cast<uint32_t>(U(r[1])), gid, static_cast<uint32_t>(U(r[2])), r[3].value_or("")});
    }
  }

  // I2, I3, I5 per conversation.
  for (auto& [c, list] : rows) {
    std::string name = (c.first ? "group " : "relation ") + S(c.second);
    std::sort(list.begin(), list.end(),
              [](const Row& a, const Row& b) { return a.msg_id < b.msg_id; });
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0 && list[i].msg_id == list[i - 1].msg_id) {
        problems.push_back("I2: " + name + " stores msgId " + S(list[i].msg_id) + " twice");
      } else if (list[i].msg_id != i + 1 && (i == 0 || list[i].msg_id != list[i - 1].msg_id)) {
        problems.push_back("I3: " + name + " msgIds are not 1..N: position " + S(i + 1) +
                           " holds " + S(list[i].msg_id));
        break;
      }
    }
    uint32_t highest = list.empty() ? 0 : list.back().msg_id;
    std::string key = (c.first ? "group_msg_id_" : "msg_id_") + S(c.second);
    RedisReply counter = redis.Command(redis.db("unread"), "GET", key);
    uint64_t value = counter.type == RedisReply::Type::kString ? std::stoull(counter.str) : 0;
    if (value < highest) {
      problems.push_back("I5: " + key + " = " + S(value) + " below the highest stored msgId " +
                         S(highest));
    }
  }

  // I1 and I4: match sends to rows by conversation and content.
  std::map<Conversation, std::map<std::string, std::vector<const Row*>>> by_content;
  for (const auto& [c, list] : rows) {
    for (const Row& r : list) {
      by_content[c][r.content].push_back(&r);
    }
  }
  std::set<std::pair<Conversation, std::string>> claimed;
  for (const SendRecord& s : sends) {
    Conversation c{s.group, s.to};
    if (!s.group) {
      auto it = relations.find({std::min(s.from, s.to), std::max(s.from, s.to)});
      c.second = it == relations.end() ? 0 : it->second.front();
    }
    claimed.insert({c, s.content});
    auto conv = by_content.find(c);
    std::vector<const Row*> found;
    if (conv != by_content.end() && conv->second.count(s.content) != 0) {
      found = conv->second.at(s.content);
    }
    std::string what = std::string(s.group ? "group" : "single") + " send " + S(s.from) + " -> " +
                       S(s.to) + " '" + s.content.substr(0, 40) + "'";
    switch (s.outcome) {
      case Outcome::kAnswered:
        if (found.size() != 1 || found[0]->msg_id != s.msg_id || found[0]->from != s.from) {
          problems.push_back("I1: " + what + " answered msg_id " + S(s.msg_id) + " has " +
                             S(found.size()) + " rows" +
                             (found.empty() ? "" : ", first with msgId " + S(found[0]->msg_id)));
        }
        break;
      case Outcome::kAnsweredZero:
        if (!found.empty()) {
          problems.push_back("I4: " + what + " answered msg_id 0 is stored (" + S(found.size()) +
                             " rows)");
        }
        break;
      case Outcome::kUnanswered:
        if (found.size() > 1) {
          problems.push_back("I4: unanswered " + what + " stored " + S(found.size()) + " times");
        }
        break;
    }
  }
  for (const auto& [c, contents] : by_content) {
    for (const auto& [content, list] : contents) {
      if (claimed.count({c, content}) == 0) {
        problems.push_back(std::string("I4: ") + (c.first ? "group " : "relation ") + S(c.second) +
                           " stores '" + content.substr(0, 40) +
                           "' that no send of the ledger made");
      }
    }
  }

  // Sessions of everything stored.
  if (options.sessions) {
    std::set<std::tuple<uint32_t, uint32_t, uint32_t>> sessions;
    for (const auto& r : db.Query("SELECT userId, peerId, type FROM IMRecentSession")) {
      sessions.insert({static_cast<uint32_t>(U(r[0])), static_cast<uint32_t>(U(r[1])),
                       static_cast<uint32_t>(U(r[2]))});
    }
    for (const auto& [c, list] : rows) {
      if (!c.first) {
        auto p = pair_of[c.second];
        for (auto [u, v] : {p, std::make_pair(p.second, p.first)}) {
          if (sessions.count({u, v, 1}) == 0) {
            problems.push_back("relation " + S(c.second) + " without its session " + S(u) + " -> " +
                               S(v));
          }
        }
      } else {
        std::set<uint32_t> senders;
        for (const Row& r : list) {
          senders.insert(r.from);
        }
        for (uint32_t u : senders) {
          if (sessions.count({u, c.second, 2}) == 0) {
            problems.push_back("group " + S(c.second) + " sender " + S(u) +
                               " without its group session");
          }
        }
      }
    }
  }

  // I6.
  if (options.unread) {
    auto reads = ledger.reads();
    int udb = redis.db("unread");
    for (const auto& [c, list] : rows) {
      if (!c.first) {
        auto p = pair_of[c.second];
        for (auto [r, s] : {p, std::make_pair(p.second, p.first)}) {
          auto read = reads.find({r, false, s});
          uint32_t mark = read == reads.end() ? 0 : read->second;
          uint64_t expected = std::count_if(list.begin(), list.end(), [&](const Row& row) {
            return row.from == s && row.msg_id > mark;
          });
          RedisReply v = redis.Command(udb, "HGET", "unread_" + S(r), s);
          uint64_t actual = v.type == RedisReply::Type::kString ? std::stoull(v.str) : 0;
          if (actual != expected) {
            problems.push_back("I6: unread_" + S(r) + " field " + S(s) + " = " + S(actual) +
                               ", but " + S(expected) + " messages " + S(s) + " -> " + S(r) +
                               " are above the read mark " + S(mark));
          }
        }
      } else {
        uint32_t gid = c.second;
        RedisReply total = redis.Command(udb, "HGET", S(gid) + "_im_group_msg", "count");
        int64_t count = total.type == RedisReply::Type::kString ? std::stoll(total.str) : 0;
        for (const auto& m : db.Query("SELECT DISTINCT userId FROM IMGroupMember WHERE groupId = " +
                                      S(gid) + " AND status = 0")) {
          uint32_t u = static_cast<uint32_t>(U(m[0]));
          auto read = reads.find({u, true, gid});
          uint32_t mark = read == reads.end() ? 0 : read->second;
          for (const Row& row : list) {
            if (row.from == u) {
              mark = std::max(mark, row.msg_id);
            }
          }
          int64_t expected = std::count_if(list.begin(), list.end(),
                                           [&](const Row& row) { return row.msg_id > mark; });
          RedisReply v =
              redis.Command(udb, "HGET", S(u) + "_" + S(gid) + "_im_user_group", "count");
          int64_t marker = v.type == RedisReply::Type::kString ? std::stoll(v.str) : 0;
          int64_t actual = std::max<int64_t>(0, count - marker);
          if (actual != expected) {
            problems.push_back("I6: group " + S(gid) + " member " + S(u) + " has unread " +
                               S(actual) + " (count " + S(count) + " - marker " + S(marker) +
                               "), but " + S(expected) + " messages are above its read point " +
                               S(mark));
          }
        }
      }
    }
  }
  return problems;
}

bool CheckEventually(TestDatabase& db, TestRedis& redis, const Ledger& ledger, int timeout_ms,
                     const CheckOptions& options) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> problems = Check(db, redis, ledger, options);
  while (!problems.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // async counters settling
    problems = Check(db, redis, ledger, options);
  }
  size_t shown = 0;
  for (const std::string& p : problems) {
    if (++shown > 50) {
      ADD_FAILURE() << "... and " << problems.size() - 50 << " more";
      break;
    }
    ADD_FAILURE() << p;
  }
  return problems.empty();
}

}  // namespace dbproxy::testing::cluster
