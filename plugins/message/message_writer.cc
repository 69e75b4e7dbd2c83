#include "plugins/message/message_writer.h"

#include <algorithm>
#include <compare>
#include <ctime>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "plugins/common/key_format.h"
#include "plugins/common/latest_cache.h"
#include "plugins/common/named_locks.h"
#include "plugins/common/session_locks.h"
#include "plugins/message/message_batch_store.h"

namespace dbproxy::plugins::message {
namespace {

using sdk::MysqlConn;
using sdk::Result;
using sdk::Status;
using store::Pair;

// How long a first message waits for another process that is creating the same relation.
constexpr uint32_t kCreationLockWaitSeconds = 5;

uint32_t Now() { return static_cast<uint32_t>(std::time(nullptr)); }

void Settle(WriteItem& item, Status status) {
  item.status = std::move(status);
  item.settled = true;
}

bool Live(const WriteItem& item) { return !item.settled; }

Pair PairOf(const WriteItem& item) {
  return Pair{std::min(item.from_id, item.to_id), std::max(item.from_id, item.to_id)};
}

std::string RelationLockName(const Pair& p) {
  return sdk::StrCat("dbproxy.rel.", p.small_id, ".", p.big_id);
}

// The sorted distinct pairs of the live single items.
std::vector<Pair> LivePairs(std::span<WriteItem> items) {
  std::vector<Pair> pairs;
  for (const WriteItem& item : items) {
    if (Live(item) && !item.group) {
      pairs.push_back(PairOf(item));
    }
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

// Settles every live single item of pair p with status.
void SettlePair(std::span<WriteItem> items, const Pair& p, const Status& status) {
  for (WriteItem& item : items) {
    if (Live(item) && !item.group && PairOf(item) == p) {
      Settle(item, status);
    }
  }
}

// The creation path of the pairs without a relation: take their creation locks (into
// *creation_locks, which the caller keeps until after COMMIT or ROLLBACK, so another process
// looks for a relation only once our insert is visible), look again -- another process may
// have created one meanwhile -- and insert the ones still missing. Adds what it locked or
// created to *found; pairs whose lock stayed busy have their items settled.
Status CreateMissingRelations(MysqlConn& conn, std::span<WriteItem> items,
                              const std::vector<Pair>& missing, uint32_t now,
                              std::optional<NamedLocks>* creation_locks,
                              std::map<Pair, store::RelationRow>* found) {
  // Lock names sort differently from pairs; lock in name order.
  std::vector<std::pair<std::string, Pair>> by_name;
  for (const Pair& p : missing) {
    by_name.emplace_back(RelationLockName(p), p);
  }
  std::sort(by_name.begin(), by_name.end());
  std::vector<std::string> names;
  for (const auto& [name, pair] : by_name) {
    names.push_back(name);
  }
  creation_locks->emplace(conn, NamedLocks::Scope::kServer, std::move(names));
  Result<std::vector<bool>> granted = (*creation_locks)->Acquire(kCreationLockWaitSeconds);
  if (!granted.ok()) {
    return granted.status();
  }
  std::vector<Pair> creatable;
  for (size_t k = 0; k < by_name.size(); ++k) {
    if ((*granted)[k]) {
      creatable.push_back(by_name[k].second);
    } else {
      SettlePair(items, by_name[k].second,
                 Status(DBP_E_TIMEOUT, sdk::StrCat("named lock ", by_name[k].first, " busy for ",
                                                   kCreationLockWaitSeconds, " s")));
    }
  }
  if (creatable.empty()) {
    return Status();
  }
  std::sort(creatable.begin(), creatable.end());
  Result<std::map<Pair, store::RelationRow>> again = store::LockRelations(conn, creatable);
  if (!again.ok()) {
    return again.status();
  }
  std::vector<Pair> absent;
  for (const Pair& p : creatable) {
    if (again->count(p) == 0) {
      absent.push_back(p);
    }
  }
  found->merge(*again);
  if (absent.empty()) {
    return Status();
  }
  Status s = store::InsertRelations(conn, absent, now);
  if (!s.ok()) {
    return s;
  }
  Result<std::map<Pair, store::RelationRow>> created = store::LockRelations(conn, absent);
  if (!created.ok()) {
    return created.status();
  }
  if (created->size() != absent.size()) {
    return Status(DBP_E_INTERNAL, "inserted relations are not visible to their writer");
  }
  found->merge(*created);
  return Status();
}

// Locks (creating or reviving as needed) the relation of every live single item; fills
// relation_of. Items whose relation could not be created in time are settled.
Status LockRelations(MysqlConn& conn, std::span<WriteItem> items, uint32_t now,
                     std::optional<NamedLocks>* creation_locks,
                     std::map<Pair, uint32_t>* relation_of) {
  const std::vector<Pair> pairs = LivePairs(items);
  if (pairs.empty()) {
    return Status();
  }
  Result<std::map<Pair, store::RelationRow>> found = store::LockRelations(conn, pairs);
  if (!found.ok()) {
    return found.status();
  }
  std::vector<Pair> missing;
  for (const Pair& p : pairs) {
    if (found->count(p) == 0) {
      missing.push_back(p);
    }
  }
  if (!missing.empty()) {
    Status s = CreateMissingRelations(conn, items, missing, now, creation_locks, &*found);
    if (!s.ok()) {
      return s;
    }
  }
  std::vector<uint32_t> revive;
  for (const auto& [pair, row] : *found) {
    (*relation_of)[pair] = row.id;
    if (row.status != 0) {
      revive.push_back(row.id);
    }
  }
  if (revive.empty()) {
    return Status();
  }
  std::sort(revive.begin(), revive.end());
  return store::ReviveRelations(conn, revive, now);
}

// Locks the group of every live group item; items of groups without a row are settled.
Status LockGroups(MysqlConn& conn, std::span<WriteItem> items) {
  std::vector<uint32_t> ids;
  for (const WriteItem& item : items) {
    if (Live(item) && item.group) {
      ids.push_back(item.to_id);
    }
  }
  if (ids.empty()) {
    return Status();
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  Result<std::unordered_set<uint32_t>> existing = store::LockGroups(conn, ids);
  if (!existing.ok()) {
    return existing.status();
  }
  for (WriteItem& item : items) {
    if (Live(item) && item.group && existing->count(item.to_id) == 0) {
      Settle(item,
             Status(DBP_E_NOT_FOUND, sdk::StrCat("group ", item.to_id, " has no IMGroup row")));
    }
  }
  return Status();
}

// The sides of one session type the batch needs that have no IMRecentSession row.
Result<std::vector<store::SessionSide>> WithoutSession(
    MysqlConn& conn, uint32_t type, const std::vector<store::SessionSide>& sides) {
  if (sides.empty()) {
    return std::vector<store::SessionSide>();
  }
  Result<std::vector<store::SessionSide>> found = store::FindSessions(conn, type, sides);
  if (!found.ok()) {
    return found.status();
  }
  std::sort(found->begin(), found->end());
  std::vector<store::SessionSide> missing;
  std::set_difference(sides.begin(), sides.end(), found->begin(), found->end(),
                      std::back_inserter(missing));
  return missing;
}

void SortUnique(std::vector<store::SessionSide>* sides) {
  std::sort(sides->begin(), sides->end());
  sides->erase(std::unique(sides->begin(), sides->end()), sides->end());
}

// A conversation's first message commits together with the sessions it needs: both users'
// sessions of a relation that had no message yet, and each group sender's session of the
// group. The session module writes sessions only after the COMMIT (message.stored), so
// without this a crash in between would leave a relation with messages and no session,
// which the recent-contact list never shows. Rows are created as the session module creates
// them: under its creation locks (into *session_creation_locks, kept until after COMMIT or
// ROLLBACK like the relations' locks), with a re-check. Costs one SELECT per batch with
// group messages or first messages, and three statements more when a row is missing.
Status CreateFirstSessions(MysqlConn& conn, std::span<WriteItem> items,
                           const std::unordered_map<uint32_t, uint64_t>& relation_max, uint32_t now,
                           std::optional<NamedLocks>* session_creation_locks) {
  std::vector<store::SessionSide> singles;
  std::vector<store::SessionSide> groups;
  for (const WriteItem& item : items) {
    if (!Live(item) || item.stored.msg_id == 0) {
      continue;
    }
    if (item.group) {
      groups.push_back({item.from_id, item.to_id});
    } else if (relation_max.count(item.stored.relate_id) == 0) {
      singles.push_back({item.from_id, item.to_id});
      singles.push_back({item.to_id, item.from_id});
    }
  }
  SortUnique(&singles);
  SortUnique(&groups);
  Result<std::vector<store::SessionSide>> missing_singles =
      WithoutSession(conn, session_locks::kTypeSingle, singles);
  if (!missing_singles.ok()) {
    return missing_singles.status();
  }
  Result<std::vector<store::SessionSide>> missing_groups =
      WithoutSession(conn, session_locks::kTypeGroup, groups);
  if (!missing_groups.ok()) {
    return missing_groups.status();
  }
  if (missing_singles->empty() && missing_groups->empty()) {
    return Status();
  }
  std::vector<std::string> names;
  for (const store::SessionSide& side : *missing_singles) {
    names.push_back(session_locks::SingleSession(side.user_id, side.peer_id));
  }
  for (const store::SessionSide& side : *missing_groups) {
    names.push_back(session_locks::GroupSession(side.peer_id));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  session_creation_locks->emplace(conn, NamedLocks::Scope::kDatabase, std::move(names));
  Status s = (*session_creation_locks)->AcquireAll(kCreationLockWaitSeconds);
  if (!s.ok()) {
    return s;
  }
  for (auto [type, wanted] : {std::pair(session_locks::kTypeSingle, &*missing_singles),
                              std::pair(session_locks::kTypeGroup, &*missing_groups)}) {
    Result<std::vector<store::SessionSide>> still = WithoutSession(conn, type, *wanted);
    if (!still.ok()) {
      return still.status();
    }
    if (!still->empty()) {
      s = store::InsertSessions(conn, type, *still, now);
      if (!s.ok()) {
        return s;
      }
    }
  }
  return Status();
}

// A conversation: a relation or a group.
struct ConversationKey {
  bool group;
  uint32_t id;
  friend auto operator<=>(const ConversationKey&, const ConversationKey&) = default;
};

ConversationKey ConversationOf(const WriteItem& item) {
  return item.group ? ConversationKey{true, item.to_id}
                    : ConversationKey{false, item.stored.relate_id};
}

// The counter key and highest msgId of each conversation among the items that are numbered
// and not failed (live ones before COMMIT, stored ones after).
void CounterTargets(std::span<WriteItem> items, std::vector<std::string>* keys_out,
                    std::vector<uint32_t>* ids_out) {
  std::map<ConversationKey, uint32_t> highest;
  for (const WriteItem& item : items) {
    if (item.stored.msg_id != 0 && (Live(item) || item.status.ok())) {
      uint32_t& id = highest[ConversationOf(item)];
      id = std::max(id, item.stored.msg_id);
    }
  }
  for (const auto& [c, id] : highest) {
    keys_out->push_back(c.group ? keys::GroupMsgId(c.id) : keys::RelationMsgId(c.id));
    ids_out->push_back(id);
  }
}

}  // namespace

void MessageWriter::Store(std::span<WriteItem> items) const {
  for (WriteItem& item : items) {
    item.status = Status();
    item.stored = StoredMessage{};
    item.settled = false;
  }
  Result<MysqlConn> conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    for (WriteItem& item : items) {
      Settle(item, conn.status());
    }
    return;
  }
  Status error;
  std::vector<InDoubtCommits::Message> settled;
  const Outcome outcome = StoreOn(*conn, items, &error, &settled);
  conn->Release();
  if (outcome == Outcome::kCommitted) {
    in_doubt_.Forget(settled);
  } else {
    in_doubt_.Unsettle(settled);
  }

  size_t pending = 0;
  for (const WriteItem& item : items) {
    pending += Live(item) ? 1 : 0;
  }
  switch (outcome) {
    case Outcome::kCommitted:
      break;
    case Outcome::kRolledBack:
      if (error.code() == DBP_E_MYSQL && pending > 1) {
        // The server refused a statement (a bad value, a deadlock, a lock wait timeout):
        // give every message its own transaction, so only a guilty one fails.
        host_.Count("send_batch_retries");
        for (WriteItem& item : items) {
          if (Live(item)) {
            Store(std::span<WriteItem>(&item, 1));
          }
        }
        return;  // each single Store raised its own counter
      }
      for (WriteItem& item : items) {
        if (Live(item)) {
          Settle(item, error);
        }
      }
      return;
    case Outcome::kCommitUnknown:
      ResolveUnknownCommit(items, error);
      break;
  }
  RaiseCounters(items);
}

MessageWriter::Outcome MessageWriter::StoreOn(MysqlConn& conn, std::span<WriteItem> items,
                                              Status* error,
                                              std::vector<InDoubtCommits::Message>* settled) const {
  *error = store::UseReadCommittedForNextTransaction(conn);
  if (!error->ok()) {
    return Outcome::kRolledBack;
  }
  // The relations' creation locks outlive the transaction: see CreateMissingRelations.
  std::optional<NamedLocks> creation_locks;
  std::optional<NamedLocks> session_creation_locks;  // likewise: see CreateFirstSessions
  sdk::Transaction transaction(conn);
  if (!transaction.begun().ok()) {
    *error = transaction.begun();
    return Outcome::kRolledBack;
  }
  const uint32_t now = Now();

  // 1. Lock every conversation: relations first, then groups, each in index order.
  std::map<Pair, uint32_t> relation_of;
  *error = LockRelations(conn, items, now, &creation_locks, &relation_of);
  if (error->ok()) {
    *error = LockGroups(conn, items);
  }
  if (!error->ok()) {
    return Outcome::kRolledBack;
  }
  for (WriteItem& item : items) {
    if (Live(item) && !item.group) {
      auto relation = relation_of.find(PairOf(item));
      if (relation == relation_of.end()) {
        // LockRelations settles every pair it could not lock; this is a broken invariant,
        // answered as a failure of the message rather than with silence.
        Settle(item, Status(DBP_E_INTERNAL, "relation not locked"));
        continue;
      }
      item.stored.relate_id = relation->second;
    }
  }

  // 2. The next msgId of each conversation: MySQL's stored maximum and Redis's counter.
  std::vector<ConversationKey> conversations;
  for (const WriteItem& item : items) {
    if (Live(item)) {
      conversations.push_back(ConversationOf(item));
    }
  }
  std::sort(conversations.begin(), conversations.end());
  conversations.erase(std::unique(conversations.begin(), conversations.end()), conversations.end());
  // Orphans of an earlier COMMIT of unknown outcome go before anything is numbered after
  // them (in_doubt_commits.h); the locks are held.
  std::vector<InDoubtCommits::Conversation> locked;
  for (const ConversationKey& c : conversations) {
    locked.emplace_back(c.group, c.id);
  }
  *error = in_doubt_.Settle(conn, locked, settled);
  if (!error->ok()) {
    return Outcome::kRolledBack;
  }
  std::vector<uint32_t> relate_ids;
  std::vector<uint32_t> group_ids;
  std::vector<std::string> counter_keys;
  for (const ConversationKey& c : conversations) {
    (c.group ? group_ids : relate_ids).push_back(c.id);
    counter_keys.push_back(c.group ? keys::GroupMsgId(c.id) : keys::RelationMsgId(c.id));
  }
  std::unordered_map<uint32_t, uint64_t> relation_max;
  std::unordered_map<uint32_t, uint64_t> group_max;
  if (!relate_ids.empty()) {
    auto r = store::MaxRelationMsgIds(conn, relate_ids);
    if (!r.ok()) {
      *error = r.status();
      return Outcome::kRolledBack;
    }
    relation_max = std::move(*r);
  }
  if (!group_ids.empty()) {
    auto r = store::MaxGroupMsgIds(conn, group_ids);
    if (!r.ok()) {
      *error = r.status();
      return Outcome::kRolledBack;
    }
    group_max = std::move(*r);
  }
  const std::vector<uint64_t> counters = counters_.Read(counter_keys);
  std::map<ConversationKey, uint64_t> highest;  // the highest id taken so far
  for (size_t i = 0; i < conversations.size(); ++i) {
    const ConversationKey& c = conversations[i];
    const auto& stored_max = c.group ? group_max : relation_max;
    auto it = stored_max.find(c.id);
    highest[c] = std::max(it == stored_max.end() ? 0 : it->second, counters[i]);
  }

  // 3. Number the messages in batch order and insert them.
  std::vector<store::SingleMessageRow> single_rows;
  std::vector<store::GroupMessageRow> group_rows;
  std::vector<uint32_t> touched_groups;
  for (WriteItem& item : items) {
    if (!Live(item)) {
      continue;
    }
    uint64_t& last = highest[ConversationOf(item)];
    std::optional<uint32_t> id = NextMsgId(last, 0);
    if (!id) {
      Settle(item, Status(DBP_E_INVALID, sdk::StrCat("msgId space exhausted for ",
                                                     item.group ? "group " : "relation ",
                                                     ConversationOf(item).id)));
      continue;
    }
    last = *id;
    item.stored.msg_id = *id;
    if (item.group) {
      group_rows.push_back(store::GroupMessageRow{item.to_id, item.from_id, *id, item.content,
                                                  item.type, item.create_time});
      touched_groups.push_back(item.to_id);
    } else {
      single_rows.push_back(store::SingleMessageRow{item.stored.relate_id, item.from_id, item.to_id,
                                                    *id, item.content, item.type,
                                                    item.create_time});
    }
  }
  if (single_rows.empty() && group_rows.empty()) {
    return Outcome::kCommitted;  // every message failed alone; the transaction rolls back
  }
  if (!single_rows.empty()) {
    *error = store::InsertMessages(conn, single_rows);
  }
  if (error->ok() && !group_rows.empty()) {
    *error = store::InsertGroupMessages(conn, group_rows);
    if (error->ok()) {
      std::sort(touched_groups.begin(), touched_groups.end());
      touched_groups.erase(std::unique(touched_groups.begin(), touched_groups.end()),
                           touched_groups.end());
      *error = store::TouchGroups(conn, touched_groups, now);
    }
  }
  if (error->ok()) {
    *error = CreateFirstSessions(conn, items, relation_max, now, &session_creation_locks);
  }
  if (!error->ok()) {
    return Outcome::kRolledBack;
  }
  {
    std::vector<std::string> owed_keys;
    std::vector<uint32_t> owed_ids;
    CounterTargets(items, &owed_keys, &owed_ids);
    counters_.Owe(owed_keys, owed_ids);
  }

  // 4. COMMIT. An error here may mean the server committed and the answer was lost.
  *error = transaction.Commit();
  if (!error->ok()) {
    return Outcome::kCommitUnknown;
  }
  const uint32_t stored_at = Now();
  for (WriteItem& item : items) {
    if (Live(item)) {
      item.stored.stored_at = stored_at;
      Settle(item, Status());
    }
  }
  return Outcome::kCommitted;
}

void MessageWriter::ResolveUnknownCommit(std::span<WriteItem> items, const Status& error) const {
  WriteItem* probe = nullptr;
  for (WriteItem& item : items) {
    if (Live(item) && item.stored.msg_id != 0) {
      probe = &item;
      break;
    }
  }
  if (probe == nullptr) {
    return;
  }
  Result<bool> stored = Status(DBP_E_UNAVAILABLE, "no connection");
  Result<MysqlConn> conn = host_.Mysql(keys::kMasterPool);
  if (conn.ok()) {
    stored =
        store::MessageStored(*conn, probe->group, ConversationOf(*probe).id, probe->stored.msg_id);
    conn->Release();
  }
  Status outcome = error;
  if (stored.ok() && *stored) {
    host_.Warn("COMMIT of ", items.size(), " messages reported '", error.message(),
               "' but the rows are stored; answering success");
    host_.Count("send_commit_verified");
    outcome = Status();
  } else if (!stored.ok()) {
    host_.Error("COMMIT of ", items.size(), " messages reported '", error.message(),
                "' and the outcome cannot be checked (", stored.status().message(),
                "); answering failure, their rows are removed if they turn out stored");
    host_.Count("send_commit_unknown");
    std::vector<InDoubtCommits::Message> unknown;
    for (const WriteItem& item : items) {
      if (Live(item) && item.stored.msg_id != 0) {
        unknown.push_back({item.group, ConversationOf(item).id, item.stored.msg_id, item.from_id,
                           item.create_time, std::string(item.content)});
      }
    }
    in_doubt_.Add(std::move(unknown));
  }
  const uint32_t stored_at = Now();
  for (WriteItem& item : items) {
    if (Live(item)) {
      if (outcome.ok()) {
        item.stored.stored_at = stored_at;
      } else {
        item.stored = StoredMessage{};
      }
      Settle(item, outcome);
    }
  }
}

void MessageWriter::RaiseCounters(std::span<WriteItem> items) const {
  std::vector<std::string> counter_keys;
  std::vector<uint32_t> ids;
  CounterTargets(items, &counter_keys, &ids);
  counters_.Raise(counter_keys, ids);
  CacheLatest(items);
}

void MessageWriter::CacheLatest(std::span<WriteItem> items) const {
  // The highest stored message of each single-chat conversation of the batch.
  std::map<Pair, const WriteItem*> latest;
  for (const WriteItem& item : items) {
    if (item.group || !item.settled || !item.status.ok() || item.stored.msg_id == 0) {
      continue;
    }
    const WriteItem*& slot = latest[PairOf(item)];
    if (slot == nullptr || slot->stored.msg_id < item.stored.msg_id) {
      slot = &item;
    }
  }
  if (latest.empty()) {
    return;
  }
  const std::string ttl = keys::Num(latest_cache::kTtlSeconds);
  const std::string key_count = keys::Num(latest.size());
  std::vector<std::string> entry_keys;
  std::vector<std::string> values;
  for (const auto& [pair, item] : latest) {
    entry_keys.push_back(latest_cache::Key(pair.small_id, pair.big_id));
    values.push_back(latest_cache::Encode(
        latest_cache::Entry{item->stored.msg_id, item->stored.relate_id, item->type, item->from_id,
                            std::string(item->content)}));
  }
  std::vector<std::string_view> argv = {"EVAL", latest_cache::kStoreScript, key_count};
  argv.insert(argv.end(), entry_keys.begin(), entry_keys.end());
  argv.push_back(ttl);
  argv.insert(argv.end(), values.begin(), values.end());
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    // Readers then find the copies older than the counters and ask MySQL.
    host_.Warn("latest-message copies of ", latest.size(), " conversations not written: ",
               reply.ok() ? std::string(reply->str()) : reply.status().message());
    host_.Count("latest_cache_write_failures");
  }
}

}  // namespace dbproxy::plugins::message
