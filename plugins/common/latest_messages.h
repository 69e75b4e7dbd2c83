#pragma once

// The latest message of many conversations in one statement, whatever their number or shard
// (TeamTalk ran one or two queries per conversation, W26). Used by the unread list (0x0307)
// and the recent-session list (0x0201).
//
// Which message is the latest: the highest msgId among the conversation's rows with status 0;
// among rows sharing that msgId (legacy data only) the newest created, then the highest id.
// TeamTalk ordered by created DESC, id DESC instead. The message module hands out msgIds from a
// per-conversation Redis counter and guarantees they increase strictly in commit order, so on
// its data both orders pick the same row; msgId is the better key where they differ (created
// has one-second resolution, and a clock step can make it go back).
//
// How: one probe per conversation, an index-ordered "ORDER BY msgId DESC ... LIMIT 1" on
// (relateId, status, msgId, created) / (groupId, msgId, status, created), which reads one index
// entry and one row. The probes of all eight shards sit in one CASE on id % 8, so a statement
// holds eight subqueries whatever the shards touched; MariaDB evaluates only the matching
// branch. The single-chat statement drives the probes from IMRelationShip and so also finds
// the relation ids: relations and latest messages cost one round trip. No table holds every
// group id (a group's messages may outlive its IMGroup row), so the group statement drives
// its probes from the id list itself.
//
// A scalar subquery returns one column, so each probe returns its row as one text cell
// "msgId,type,sender,content" (CONCAT_WS; content may itself hold commas, it is everything
// after the third). The numbers are NOT NULL columns; a NULL content (single-chat content is
// nullable) leaves out the third comma and reads as "".
//
// Why not the alternatives (server CPU for one user with 100 conversations of 20 messages,
// MariaDB 10.11): a UNION ALL of one "WHERE relateId = ? ... LIMIT 1" select per conversation
// makes the optimizer plan every select on every execution (3.4 ms, plus 0.4 ms for a
// separate relation statement); "MAX(msgId) ... GROUP BY relateId" joined back to the row
// pays a loose index scan (several index descents per conversation), the join and one
// statement per shard (1.2 ms + 0.4 ms); this statement costs 0.8 ms in all. On the group
// table, status follows msgId in the index, which rules out the loose scan for MAX(msgId):
// that form reads every index entry of the group and sorts.
//
// Prepared statements are cached by SQL text per connection, so id lists are padded up to a
// power of two by repeating the last id: a handful of shapes per query.
//
// Header-only; pure functions over a borrowed connection; any worker thread.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/plugin.h"
#include "dbproxy/sdk/status.h"
#include "plugins/common/key_format.h"
#include "plugins/common/sql_in_list.h"

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

// The latest row (status 0; see the top of this file for the order) of one conversation.
struct LatestMessage {
  uint32_t msg_id = 0;
  uint32_t msg_type = 0;
  uint32_t from_user_id = 0;  // fromId (single) / userId (group): the real sender
  std::string content;        // the stored bytes; "" for SQL NULL
};

// Group id -> its latest message. Groups without a message row are absent.
using LatestMap = std::unordered_map<uint32_t, LatestMessage>;

// One peer of a user: the active relation between them and its latest message.
struct PeerLatest {
  uint32_t relate_id = 0;
  std::optional<LatestMessage> latest;  // empty: the relation has no message row
};

// Peer id -> relation and latest message. Peers without an active relation are absent.
using PeerMap = std::unordered_map<uint32_t, PeerLatest>;

inline constexpr size_t kMaxPerStatement = 256;

// The smallest power of two >= n (n >= 1), the padded size of an IN list.
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

// Parses a probe cell "msgId,type,sender[,content]" (see the top of this file) into *out.
// Returns false if the three numbers are not there.
inline bool ParseProbeCell(std::string_view cell, LatestMessage* out) {
  uint32_t numbers[3] = {0, 0, 0};
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    size_t end = cell.find(',', at);
    if (end == std::string_view::npos) {
      if (i != 2) {
        return false;
      }
      end = cell.size();
    }
    const char* first = cell.data() + at;
    const char* last = cell.data() + end;
    auto [ptr, ec] = std::from_chars(first, last, numbers[i]);
    if (ec != std::errc() || ptr != last || first == last) {
      return false;
    }
    at = end + 1;
  }
  out->msg_id = numbers[0];
  out->msg_type = numbers[1];
  out->from_user_id = numbers[2];
  out->content = at <= cell.size() ? std::string(cell.substr(at)) : std::string();
  return true;
}

namespace internal {

// "CASE <id_expr> % 8 WHEN 0 THEN (probe of shard 0) ... END": the latest message of the
// conversation whose id is id_expr, from its shard.
inline std::string ProbeCase(std::string (*table)(uint32_t), const char* index,
                             const char* id_column, const char* from_column, const char* id_expr) {
  std::string out = sdk::StrCat("CASE ", id_expr, " % ", keys::kShards);
  for (uint32_t k = 0; k < keys::kShards; ++k) {
    out.append(sdk::StrCat(
        " WHEN ", k, " THEN (SELECT CONCAT_WS(',', m.msgId, m.type, m.", from_column,
        ", m.content) FROM ", table(k), " m FORCE INDEX (", index, ") WHERE m.", id_column, " = ",
        id_expr, " AND m.status = 0 ORDER BY m.msgId DESC, m.created DESC, m.id DESC LIMIT 1)"));
  }
  out.append(" END");
  return out;
}

// ids[from, from + kMaxPerStatement), padded to a power of two; {0} if that is empty
// (0 is never a user, relation or group id, so it matches nothing).
inline std::vector<uint32_t> Slice(const std::vector<uint32_t>& ids, size_t from) {
  std::vector<uint32_t> part;
  for (size_t i = from; i < ids.size() && i < from + kMaxPerStatement; ++i) {
    part.push_back(ids[i]);
  }
  if (part.empty()) {
    part.push_back(0);
  }
  part.resize(PaddedSize(part.size()), part.back());
  return part;
}

inline sdk::Status BadCell(const char* what, uint32_t id, std::string_view cell) {
  return sdk::Status(DBP_E_INTERNAL, sdk::StrCat("latest message of ", what, " ", id,
                                                 " unreadable: \"", cell.substr(0, 64), "\""));
}

}  // namespace internal

// The active relation (IMRelationShip, status 0) of user_id with each peer, and the latest
// single-chat message of that relation (IMMessage_<relate id % 8>). Where legacy data holds
// several active rows for one pair (TeamTalk's W9), the lowest id wins, the same choice the
// message module makes. One statement per 256 peers on each side of user_id (peers above it
// are matched as bigId, peers below it as smallId); duplicated peers and user_id itself are
// fine. Returns the map, or the first statement error.
// REQUIRES: conn is held by this thread.
inline sdk::Result<PeerMap> ForPeers(sdk::MysqlConn& conn, uint32_t user_id,
                                     const std::vector<uint32_t>& peers) {
  std::vector<uint32_t> above;  // peers > user: user is smallId
  std::vector<uint32_t> below;  // peers < user: user is bigId
  for (uint32_t p : peers) {
    if (p > user_id) {
      above.push_back(p);
    } else if (p < user_id) {
      below.push_back(p);
    }
  }
  PeerMap out;
  size_t rounds = std::max((above.size() + kMaxPerStatement - 1) / kMaxPerStatement,
                           (below.size() + kMaxPerStatement - 1) / kMaxPerStatement);
  for (size_t round = 0; round < rounds; ++round) {
    std::vector<uint32_t> big_ids = internal::Slice(above, round * kMaxPerStatement);
    std::vector<uint32_t> small_ids = internal::Slice(below, round * kMaxPerStatement);
    std::string sql = sdk::StrCat(
        sql::kNoIndexDives, "SELECT r.id, r.smallId, r.bigId, ",
        internal::ProbeCase(&keys::MessageTable, "idx_relateId_status_msgId_created", "relateId",
                            "fromId", "r.id"),
        " FROM IMRelationShip r WHERE r.status = 0 AND ((r.smallId = ? AND r.bigId IN (",
        Placeholders(big_ids.size()), ")) OR (r.bigId = ? AND r.smallId IN (",
        Placeholders(small_ids.size()), ")))");
    std::vector<sdk::Param> params;
    params.reserve(big_ids.size() + small_ids.size() + 2);
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
      auto [slot, fresh] = out.try_emplace(peer);
      if (!fresh && slot->second.relate_id < rid) {
        continue;  // a duplicate relation row with a higher id: the lower one stands
      }
      PeerLatest entry;
      entry.relate_id = rid;
      if (!rows->IsNull(r, 3)) {
        LatestMessage m;
        if (!ParseProbeCell(rows->Text(r, 3), &m)) {
          return internal::BadCell("relation", rid, rows->Text(r, 3));
        }
        entry.latest = std::move(m);
      }
      slot->second = std::move(entry);
    }
  }
  return out;
}

// Latest group message of each group in group_ids (IMGroupMessage_<gid % 8>). One statement
// per 256 groups. Returns the map, or the first statement error. Duplicated ids are fine.
// REQUIRES: conn is held by this thread.
inline sdk::Result<LatestMap> ForGroups(sdk::MysqlConn& conn,
                                        const std::vector<uint32_t>& group_ids) {
  std::vector<uint32_t> ids = group_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  LatestMap out;
  for (size_t at = 0; at < ids.size(); at += kMaxPerStatement) {
    std::vector<uint32_t> part = internal::Slice(ids, at);
    // No table holds every group id (a group's messages may outlive its IMGroup row), so
    // the ids themselves drive the probes; UNION (not ALL) drops the padding.
    std::string sql = "SELECT g.gid, ";
    sql.append(internal::ProbeCase(&keys::GroupMessageTable, "idx_groupId_msgId_status_created",
                                   "groupId", "userId", "g.gid"));
    sql.append(" FROM (SELECT CAST(? AS UNSIGNED) AS gid");
    for (size_t i = 1; i < part.size(); ++i) {
      sql.append(" UNION SELECT ?");
    }
    sql.append(") g");
    std::vector<sdk::Param> params(part.begin(), part.end());
    auto rows = conn.ExecuteSpan(sql, params.data(), params.size());
    if (!rows.ok()) {
      return rows.status();
    }
    for (size_t r = 0; r < rows->rows(); ++r) {
      if (rows->IsNull(r, 1)) {
        continue;
      }
      auto gid = static_cast<uint32_t>(rows->Uint(r, 0));
      LatestMessage m;
      if (!ParseProbeCell(rows->Text(r, 1), &m)) {
        return internal::BadCell("group", gid, rows->Text(r, 1));
      }
      out[gid] = std::move(m);
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
