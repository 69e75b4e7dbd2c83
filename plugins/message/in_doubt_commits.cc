#include "plugins/message/in_doubt_commits.h"

#include <algorithm>

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
  std::lock_guard<std::mutex> lock(mutex_);
  for (Message& m : messages) {
    if (messages_.size() >= kMaxRemembered) {
      host_.Error("in-doubt message ", m.msg_id, " of ", m.group ? "group " : "relation ",
                  m.conversation, " not remembered: ", kMaxRemembered, " are already");
      host_.Count("in_doubt_dropped");
      continue;
    }
    messages_.push_back(std::move(m));
  }
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
                              std::vector<Message>* settled) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (messages_.empty()) {
      return Status();
    }
  }
  MessageIdCounters counters(host_);
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
        host_.Error("message ", m.msg_id, " of ", m.group ? "group " : "relation ",
                    m.conversation, " from ", m.from_id,
                    " was committed although answered msg_id 0, and message ", *highest,
                    " follows it; kept (removing it would leave a gap)");
        host_.Count("in_doubt_kept");
        settled->push_back(m);
        continue;
      }
      // The id goes back before the row: without Redis the row stays, and so do the lower
      // orphans of the conversation (they are not its highest), all tried again later.
      if (!counters.Withdraw(CounterKey(m), m.msg_id)) {
        break;
      }
      settled->push_back(m);  // its debt is gone from here on: Unsettle() restores it
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
  if (settled.empty()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Message& s : settled) {
    auto it = std::find_if(messages_.begin(), messages_.end(), [&](const Message& m) {
      return m.group == s.group && m.conversation == s.conversation && m.msg_id == s.msg_id &&
             m.from_id == s.from_id && m.content == s.content;
    });
    if (it != messages_.end()) {
      messages_.erase(it);
    }
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
}

void InDoubtCommits::SettleAll() {
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
