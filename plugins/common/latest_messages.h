#pragma once

// The latest message of many conversations, and the relation ids of one user with many
// peers, in a number of statements that does not grow with the number of conversations
// (TeamTalk ran one or two queries per conversation, W26). Used by the unread list (0x0307)
// and the recent-session list (0x0201).
//
// How: conversations are grouped by shard table (id % 8); each shard gets one statement
// that is a UNION ALL of one index-backed "ORDER BY created DESC, id DESC LIMIT 1" probe per
// conversation, so MariaDB reads one index entry per conversation. Up to kMaxPerStatement
// conversations per shard fit in one statement, so n conversations cost
// sum over shards of ceil(n_shard / 256) statements: at most 8 for up to 256 per shard.
//
// Prepared statements are cached by SQL text per connection (LRU of 256), so the number of
// probes (and IN-list lengths) is padded up to a power of two by repeating the last id:
// a duplicate probe returns a duplicate row, which the map absorbs.
//
// Header-only; pure functions over a borrowed connection; any worker thread.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/plugin.h"
#include "dbproxy/sdk/status.h"
#include "plugins/common/key_format.h"

namespace dbproxy::plugins::latest_messages {

// MsgType values (IM.BaseDefine).
inline constexpr uint32_t kSingleText = 0x01;
inline constexpr uint32_t kSingleAudio = 0x02;
inline constexpr uint32_t kGroupText = 0x11;
inline constexpr uint32_t kGroupAudio = 0x12;

inline bool IsValidMsgType(uint32_t t) {
  return t == kSingleText || t == kSingleAudio || t == kGroupText || t == kGroupAudio;
}
inline bool IsAudio(uint32_t t) { return t == kSingleAudio || t == kGroupAudio; }

// The newest row (status 0, ordered by created desc, id desc, as TeamTalk) of one
// conversation.
struct LatestMessage {
  uint32_t msg_id = 0;
  uint32_t msg_type = 0;
  uint32_t from_user_id = 0;  // fromId (single) / userId (group): the real sender
  std::string content;        // the stored bytes; "" for SQL NULL
};

// conversation id (relate id or group id) -> its latest message. Conversations without a
// message row are absent.
using LatestMap = std::unordered_map<uint32_t, LatestMessage>;

inline constexpr size_t kMaxPerStatement = 256;

// The smallest power of two >= n (n >= 1), the padded size of a probe or IN list.
inline size_t PaddedSize(size_t n) {
  size_t b = 1;
  while (b < n) {
    b <<= 1;
  }
  return b;
}

// "?, ?, ?" with n placeholders.
inline std::string Placeholders(size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    out.append(i == 0 ? "?" : ", ?");
  }
  return out;
}

namespace internal {

struct ShardQuery {
  std::string (*table)(uint32_t id);
  const char* id_column;    // relateId / groupId
  const char* from_column;  // fromId / userId
};

// Runs the probes of one shard for ids[0, n) (all in that shard). Adds rows to *out.
inline sdk::Status ProbeShard(sdk::MysqlConn& conn, const ShardQuery& q, const uint32_t* ids,
                              size_t n, LatestMap* out) {
  const size_t padded = PaddedSize(n);
  const std::string table = q.table(ids[0]);
  std::string probe = sdk::StrCat("SELECT ", q.id_column, ", msgId, type, ", q.from_column,
                                  ", content FROM ", table, " WHERE ", q.id_column,
                                  " = ? AND status = 0 ORDER BY created DESC, id DESC LIMIT 1");
  std::string sql;
  if (padded == 1) {
    sql = probe;
  } else {
    sql.reserve(padded * (probe.size() + 14));
    for (size_t i = 0; i < padded; ++i) {
      sql.append(i == 0 ? "(" : " UNION ALL (").append(probe).append(")");
    }
  }
  std::vector<sdk::Param> params;
  params.reserve(padded);
  for (size_t i = 0; i < padded; ++i) {
    params.emplace_back(ids[std::min(i, n - 1)]);
  }
  auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
  if (!rows.ok()) {
    return rows.status();
  }
  for (size_t r = 0; r < rows->rows(); ++r) {
    LatestMessage m;
    m.msg_id = static_cast<uint32_t>(rows->Uint(r, 1));
    m.msg_type = static_cast<uint32_t>(rows->Uint(r, 2));
    m.from_user_id = static_cast<uint32_t>(rows->Uint(r, 3));
    m.content = std::string(rows->Text(r, 4));
    (*out)[static_cast<uint32_t>(rows->Uint(r, 0))] = std::move(m);
  }
  return sdk::Status();
}

inline sdk::Result<LatestMap> Latest(sdk::MysqlConn& conn, const ShardQuery& q,
                                     const std::vector<uint32_t>& ids) {
  std::vector<std::vector<uint32_t>> by_shard(keys::kShards);
  for (uint32_t id : ids) {
    std::vector<uint32_t>& shard = by_shard[id % keys::kShards];
    if (std::find(shard.begin(), shard.end(), id) == shard.end()) {
      shard.push_back(id);
    }
  }
  LatestMap out;
  for (const std::vector<uint32_t>& shard : by_shard) {
    for (size_t at = 0; at < shard.size(); at += kMaxPerStatement) {
      size_t n = std::min(kMaxPerStatement, shard.size() - at);
      sdk::Status s = ProbeShard(conn, q, shard.data() + at, n, &out);
      if (!s.ok()) {
        return s;
      }
    }
  }
  return out;
}

}  // namespace internal

// Latest single-chat message of each relation in relate_ids (IMMessage_<rid % 8>).
// Returns the map, or the first statement error. Duplicated ids are fine.
// REQUIRES: conn is held by this thread.
inline sdk::Result<LatestMap> ForRelations(sdk::MysqlConn& conn,
                                           const std::vector<uint32_t>& relate_ids) {
  return internal::Latest(conn, {&keys::MessageTable, "relateId", "fromId"}, relate_ids);
}

// Latest group message of each group in group_ids (IMGroupMessage_<gid % 8>).
// Returns the map, or the first statement error. Duplicated ids are fine.
// REQUIRES: conn is held by this thread.
inline sdk::Result<LatestMap> ForGroups(sdk::MysqlConn& conn,
                                        const std::vector<uint32_t>& group_ids) {
  return internal::Latest(conn, {&keys::GroupMessageTable, "groupId", "userId"}, group_ids);
}

// Active relation (IMRelationShip, status 0) of user_id with each peer: peer -> relate id.
// Peers without a relation are absent. Where legacy data holds several rows for one pair
// (TeamTalk's W9), the lowest id wins, the same choice the message module makes. One statement per
// 256 peers on each side of user_id (peers above it are matched as bigId, peers below it as
// smallId). REQUIRES: conn is held by this thread.
inline sdk::Result<std::unordered_map<uint32_t, uint32_t>> RelationIds(
    sdk::MysqlConn& conn, uint32_t user_id, const std::vector<uint32_t>& peers) {
  std::vector<uint32_t> above;  // peers > user: user is smallId
  std::vector<uint32_t> below;  // peers < user: user is bigId
  for (uint32_t p : peers) {
    if (p > user_id) {
      above.push_back(p);
    } else if (p < user_id) {
      below.push_back(p);
    }
  }
  std::unordered_map<uint32_t, uint32_t> out;
  size_t rounds = std::max((above.size() + kMaxPerStatement - 1) / kMaxPerStatement,
                           (below.size() + kMaxPerStatement - 1) / kMaxPerStatement);
  for (size_t round = 0; round < rounds; ++round) {
    // Each side gets at least one slot; 0 is never a user id, so a pad of 0 matches nothing.
    auto slice = [&](const std::vector<uint32_t>& side) {
      std::vector<uint32_t> part;
      size_t from = round * kMaxPerStatement;
      for (size_t i = from; i < side.size() && i < from + kMaxPerStatement; ++i) {
        part.push_back(side[i]);
      }
      if (part.empty()) {
        part.push_back(0);
      }
      part.resize(PaddedSize(part.size()), part.back());
      return part;
    };
    std::vector<uint32_t> big_ids = slice(above);
    std::vector<uint32_t> small_ids = slice(below);
    std::string sql = sdk::StrCat(
        "SELECT id, smallId, bigId FROM IMRelationShip WHERE smallId = ? AND bigId IN (",
        Placeholders(big_ids.size()),
        ") AND status = 0 UNION ALL SELECT id, smallId, bigId FROM IMRelationShip "
        "WHERE bigId = ? AND smallId IN (",
        Placeholders(small_ids.size()), ") AND status = 0");
    std::vector<sdk::Param> params;
    params.emplace_back(user_id);
    for (uint32_t id : big_ids) {
      params.emplace_back(id);
    }
    params.emplace_back(user_id);
    for (uint32_t id : small_ids) {
      params.emplace_back(id);
    }
    auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
    if (!rows.ok()) {
      return rows.status();
    }
    for (size_t r = 0; r < rows->rows(); ++r) {
      auto rid = static_cast<uint32_t>(rows->Uint(r, 0));
      auto small = static_cast<uint32_t>(rows->Uint(r, 1));
      auto big = static_cast<uint32_t>(rows->Uint(r, 2));
      uint32_t peer = small == user_id ? big : small;
      auto [slot, fresh] = out.emplace(peer, rid);
      if (!fresh) {
        slot->second = std::min(slot->second, rid);
      }
    }
  }
  return out;
}

// The bytes a list entry shows for a latest message: the stored content, or for audio the
// encrypted "[语音]" preview (audio_preview, built once from the AES key, spec §6.6).
inline std::string_view DisplayData(const LatestMessage& m, std::string_view audio_preview) {
  return IsAudio(m.msg_type) ? audio_preview : std::string_view(m.content);
}

}  // namespace dbproxy::plugins::latest_messages
