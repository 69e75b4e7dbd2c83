#include "plugins/message/in_doubt_commits.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <string_view>

#include "plugins/common/key_format.h"
#include "plugins/message/message_id_allocator.h"

namespace dbproxy::plugins::message {
namespace {

using sdk::MysqlConn;
using sdk::Result;
using sdk::Status;

std::string Table(bool group, uint32_t conversation) {
  return group ? keys::GroupMessageTable(conversation) : keys::MessageTable(conversation);
}

std::string CounterKey(const InDoubtCommits::Message& m) {
  return m.group ? keys::GroupMsgId(m.conversation) : keys::RelationMsgId(m.conversation);
}

const char* IdColumn(bool group) { return group ? "groupId" : "relateId"; }
const char* FromColumn(bool group) { return group ? "userId" : "fromId"; }

// The highest msgId stored in the conversation, any status (0 if none).
Result<uint64_t> HighestMsgId(MysqlConn& conn, bool group, uint32_t conversation) {
  auto r = conn.Execute(sdk::StrCat("SELECT MAX(msgId) FROM ", Table(group, conversation),
                                    " WHERE ", IdColumn(group), " = ?"),
                        {conversation});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() == 0 ? 0 : r->Uint(0, 0, 0);
}

// Whether the row of exactly this message (id, sender, time, content) is stored.
Result<bool> Stored(MysqlConn& conn, const InDoubtCommits::Message& m) {
  auto r = conn.Execute(
      sdk::StrCat("SELECT 1 FROM ", Table(m.group, m.conversation), " WHERE ", IdColumn(m.group),
                  " = ? AND msgId = ? AND ", FromColumn(m.group),
                  " = ? AND created = ? AND content = ? LIMIT 1"),
      {m.conversation, m.msg_id, m.from_id, m.create_time, std::string_view(m.content)});
  if (!r.ok()) {
    return r.status();
  }
  return r->rows() > 0;
}

// Its field in the Redis hash: "r|<relateId>|<msgId>|<fromId>|<created>" ("g|<groupId>|..."
// for a group message); the value is the content.
std::string Field(const InDoubtCommits::Message& m) {
  return sdk::StrCat(m.group ? "g|" : "r|", m.conversation, "|", m.msg_id, "|", m.from_id, "|",
                     m.create_time);
}

// The message of a field and its value; false for a field this code did not write.
bool ParseField(std::string_view field, std::string_view value, InDoubtCommits::Message* m) {
  if (field.size() < 2 || (field[0] != 'r' && field[0] != 'g') || field[1] != '|') {
    return false;
  }
  m->group = field[0] == 'g';
  const char* at = field.data() + 2;
  const char* end = field.data() + field.size();
  uint32_t* parts[] = {&m->conversation, &m->msg_id, &m->from_id, &m->create_time};
  for (size_t i = 0; i < 4; ++i) {
    auto [ptr, ec] = std::from_chars(at, end, *parts[i]);
    if (ec != std::errc() || (i < 3 ? ptr == end || *ptr != '|' : ptr != end)) {
      return false;
    }
    at = ptr + 1;
  }
  m->content.assign(value);
  m->recorded = true;
  return m->conversation != 0 && m->msg_id != 0;
}

bool SameMessage(const InDoubtCommits::Message& a, const InDoubtCommits::Message& b) {
  return a.group == b.group && a.conversation == b.conversation && a.msg_id == b.msg_id &&
         a.from_id == b.from_id && a.create_time == b.create_time && a.content == b.content;
}

// KEYS[1] the in-doubt hash, KEYS[2] the msgId counter, KEYS[3] the owed set; ARGV[1] the
// message's field ('' when it was never recorded), ARGV[2] its msgId. Claims the message
// (-1 if another holder already did), then drops a debt of at most the id and lowers the
// counter by one if it holds exactly the id.
constexpr std::string_view kClaimScript =
    "if ARGV[1] ~= '' and redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end "
    "local id = tonumber(ARGV[2]) "
    "local debt = tonumber(redis.call('ZSCORE', KEYS[3], KEYS[2])) "
    "if debt ~= nil and debt <= id then redis.call('ZREM', KEYS[3], KEYS[2]) end "
    "if tonumber(redis.call('GET', KEYS[2])) == id then "
    "redis.call('SET', KEYS[2], tostring(id - 1)) end return 1";

Status Delete(MysqlConn& conn, const InDoubtCommits::Message& m) {
  auto r = conn.Execute(
      sdk::StrCat("DELETE FROM ", Table(m.group, m.conversation), " WHERE ", IdColumn(m.group),
                  " = ? AND msgId = ? AND ", FromColumn(m.group),
                  " = ? AND created = ? AND content = ?"),
      {m.conversation, m.msg_id, m.from_id, m.create_time, std::string_view(m.content)});
  return r.ok() ? Status() : r.status();
}

}  // namespace

void InDoubtCommits::Add(std::vector<Message> messages) {
  if (messages.empty()) {
    return;
  }
  std::vector<std::string> fields;
  std::vector<std::string_view> argv = {"HSET", kInDoubtKey};
  fields.reserve(messages.size());
  for (const Message& m : messages) {
    fields.push_back(Field(m));
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    argv.push_back(fields[i]);
    argv.push_back(messages[i].content);
  }
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  const bool recorded = reply.ok() && !reply->is_error();
  if (!recorded) {
    host_.Warn(messages.size(), " in-doubt messages not recorded in Redis (",
               reply.ok() ? std::string(reply->str()) : reply.status().message(),
               "): only this process can settle them");
    host_.Count("in_doubt_unrecorded", static_cast<int64_t>(messages.size()));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (Message& m : messages) {
    if (messages_.size() >= kMaxRemembered) {
      host_.Error("in-doubt message ", m.msg_id, " of ", m.group ? "group " : "relation ",
                  m.conversation, " not remembered: ", kMaxRemembered, " are already");
      host_.Count("in_doubt_dropped");
      continue;
    }
    m.recorded = recorded;
    messages_.push_back(std::move(m));
  }
}

bool InDoubtCommits::Load() {
  std::vector<std::string_view> argv = {"HGETALL", kInDoubtKey};
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    if (!loaded_) {  // later failures are the next tick's business; no log line per second
      host_.Warn("cannot read the in-doubt messages recorded in Redis (",
                 reply.ok() ? std::string(reply->str()) : reply.status().message(),
                 "); tried again on the next settling tick");
    }
    return false;
  }
  size_t added = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i + 1 < reply->size(); i += 2) {
      Message m;
      if (!ParseField((*reply)[i].str(), (*reply)[i + 1].str(), &m)) {
        continue;
      }
      bool known = std::any_of(messages_.begin(), messages_.end(),
                               [&](const Message& k) { return SameMessage(k, m); });
      if (!known && messages_.size() < kMaxRemembered) {
        messages_.push_back(std::move(m));
        ++added;
      }
    }
  }
  loaded_ = true;
  if (added != 0) {
    host_.Warn(added,
               " messages whose COMMIT outcome was unknown to an earlier holder are "
               "remembered from Redis and settled once MySQL answers");
  }
  return true;
}

void InDoubtCommits::Record(const std::vector<Message>& messages) const {
  std::vector<std::string> fields;
  for (const Message& m : messages) {
    if (m.recorded) {
      fields.push_back(Field(m));
    }
  }
  if (fields.empty()) {
    return;
  }
  std::vector<std::string_view> argv = {"HSET", kInDoubtKey};
  size_t f = 0;
  for (const Message& m : messages) {
    if (m.recorded) {
      argv.push_back(fields[f++]);
      argv.push_back(m.content);
    }
  }
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    host_.Warn(fields.size(),
               " in-doubt messages not recorded again in Redis: only this "
               "process can settle them");
    host_.Count("in_doubt_unrecorded", static_cast<int64_t>(fields.size()));
  }
}

void InDoubtCommits::EraseHere(const Message& m) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(messages_.begin(), messages_.end(),
                         [&](const Message& k) { return SameMessage(k, m); });
  if (it != messages_.end()) {
    messages_.erase(it);
  }
}

InDoubtCommits::Claim InDoubtCommits::ClaimForDeletion(const Message& m) const {
  const std::string field = m.recorded ? Field(m) : std::string();
  const std::string counter = CounterKey(m);
  const std::string id = keys::Num(m.msg_id);
  std::vector<std::string_view> argv = {"EVAL",  kClaimScript,  "3",   kInDoubtKey,
                                        counter, kOwedCounters, field, id};
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    host_.Warn("cannot claim in-doubt message ", m.msg_id, " of ", CounterKey(m), " (",
               reply.ok() ? std::string(reply->str()) : reply.status().message(),
               "); its row stays until Redis answers");
    host_.Count("msg_id_counter_write_failures");
    return Claim::kFailed;
  }
  return reply->integer() < 0 ? Claim::kSettledElsewhere : Claim::kClaimed;
}

std::vector<InDoubtCommits::Message> InDoubtCommits::Of(const Conversation& conversation) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Message> out;
  for (const Message& m : messages_) {
    if (m.group == conversation.first && m.conversation == conversation.second) {
      out.push_back(m);
    }
  }
  return out;
}

Status InDoubtCommits::Settle(MysqlConn& conn, const std::vector<Conversation>& conversations,
                              std::vector<Message>* settled) {
  if (!loaded_) {
    (void)Load();  // once per module instance; a failure is logged and retried next time
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (messages_.empty()) {
      return Status();
    }
  }
  for (const Conversation& c : conversations) {
    std::vector<Message> mine = Of(c);
    // Highest first: a batch's orphans of one conversation are its latest ids in a row.
    std::sort(mine.begin(), mine.end(),
              [](const Message& a, const Message& b) { return a.msg_id > b.msg_id; });
    for (const Message& m : mine) {
      Result<bool> stored = Stored(conn, m);
      if (!stored.ok()) {
        return stored.status();
      }
      if (!*stored) {
        settled->push_back(m);
        continue;
      }
      Result<uint64_t> highest = HighestMsgId(conn, m.group, m.conversation);
      if (!highest.ok()) {
        return highest.status();
      }
      if (*highest != m.msg_id) {
        host_.Error("message ", m.msg_id, " of ", m.group ? "group " : "relation ", m.conversation,
                    " from ", m.from_id, " was committed although answered msg_id 0, and message ",
                    *highest, " follows it; kept (removing it would leave a gap)");
        host_.Count("in_doubt_kept");
        settled->push_back(m);
        continue;
      }
      // The claim and the id go back before the row: without Redis the row stays, and so do
      // the lower orphans of the conversation (they are not its highest), all tried later.
      const Claim claim = ClaimForDeletion(m);
      if (claim == Claim::kFailed) {
        break;
      }
      if (claim == Claim::kSettledElsewhere) {
        // Another holder removed it; the row seen may be the resend that took its id.
        EraseHere(m);
        continue;
      }
      settled->push_back(m);  // unclaimed and owed again by Unsettle() if this rolls back
      Status deleted = Delete(conn, m);
      if (!deleted.ok()) {
        return deleted;
      }
      host_.Warn("message ", m.msg_id, " of ", m.group ? "group " : "relation ", m.conversation,
                 " from ", m.from_id,
                 " was committed although its COMMIT was answered as failed (msg_id 0); "
                 "its row is removed so the resend takes its place");
      host_.Count("in_doubt_removed");
    }
  }
  return Status();
}

void InDoubtCommits::Forget(const std::vector<Message>& settled) {
  std::vector<std::string> fields;
  for (const Message& s : settled) {
    if (s.recorded) {
      fields.push_back(Field(s));
    }
  }
  // Out of Redis before out of memory: a Load() in between must not bring one back.
  Unrecord(std::move(fields));
  for (const Message& s : settled) {
    EraseHere(s);
  }
}

void InDoubtCommits::Unrecord(std::vector<std::string> fields) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fields.insert(fields.end(), std::make_move_iterator(unrecorded_.begin()),
                  std::make_move_iterator(unrecorded_.end()));
    unrecorded_.clear();
  }
  if (fields.empty()) {
    return;
  }
  std::vector<std::string_view> argv = {"HDEL", kInDoubtKey};
  argv.insert(argv.end(), fields.begin(), fields.end());
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    // Retried on every settling tick: a holder that loads one of them meanwhile finds it not
    // stored or kept, unless a resend identical in sender, time and content took its id.
    host_.Warn(fields.size(), " settled in-doubt messages stay recorded in Redis for now");
    std::lock_guard<std::mutex> lock(mutex_);
    unrecorded_.insert(unrecorded_.end(), std::make_move_iterator(fields.begin()),
                       std::make_move_iterator(fields.end()));
  }
}

void InDoubtCommits::Unsettle(const std::vector<Message>& settled) const {
  if (settled.empty()) {
    return;
  }
  std::vector<std::string> counter_keys;
  std::vector<uint32_t> ids;
  for (const Message& m : settled) {
    counter_keys.push_back(CounterKey(m));
    ids.push_back(m.msg_id);
  }
  MessageIdCounters(host_).Owe(counter_keys, ids);
  Record(settled);
}

void InDoubtCommits::SettleAll() {
  Unrecord({});
  // Every tick, not once: a holder that died (or was reloaded away) leaves its messages in
  // Redis, and a live holder's are safe to load (the claim decides who deletes).
  (void)Load();
  std::vector<Conversation> conversations;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Message& m : messages_) {
      conversations.emplace_back(m.group, m.conversation);
    }
  }
  if (conversations.empty()) {
    return;
  }
  std::sort(conversations.begin(), conversations.end());
  conversations.erase(std::unique(conversations.begin(), conversations.end()), conversations.end());
  Result<MysqlConn> conn = host_.Mysql(keys::kMasterPool);
  if (!conn.ok()) {
    return;  // still down: the next tick tries again
  }
  for (const Conversation& c : conversations) {
    sdk::Transaction transaction(*conn);
    if (!transaction.begun().ok()) {
      return;
    }
    auto locked = conn->Execute(c.first ? "SELECT id FROM IMGroup WHERE id = ? FOR UPDATE"
                                        : "SELECT id FROM IMRelationShip WHERE id = ? FOR UPDATE",
                                {c.second});
    if (!locked.ok()) {
      return;
    }
    std::vector<Message> settled;
    if (!Settle(*conn, {c}, &settled).ok() || !transaction.Commit().ok()) {
      Unsettle(settled);
      host_.Warn("settling in-doubt messages of ", c.first ? "group " : "relation ", c.second,
                 " failed; retried on the next tick");
      return;
    }
    Forget(settled);
  }
}

}  // namespace dbproxy::plugins::message
