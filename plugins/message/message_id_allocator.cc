#include "plugins/message/message_id_allocator.h"

#include <charconv>
#include <limits>

#include "plugins/common/key_format.h"
#include "plugins/message/message_store.h"

namespace dbproxy::plugins::message {
namespace {

// SET key id if the stored value is missing, not a number, or lower. One script, so no
// other writer can slip in between the read and the write.
constexpr std::string_view kRaiseScript =
    "local v = tonumber(redis.call('GET', KEYS[1])) "
    "if v == nil or v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end "
    "return 0";

// Why a Redis call failed, for the log line.
std::string Describe(sdk::Result<sdk::RedisReply>& reply) {
  return reply.ok() ? std::string(reply.value().str()) : reply.status().message();
}

}  // namespace

std::optional<uint32_t> NextMsgId(uint64_t stored_max, uint64_t counter) {
  const uint64_t highest = stored_max > counter ? stored_max : counter;
  if (highest >= std::numeric_limits<uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(highest + 1);
}

std::optional<uint64_t> ParseCounter(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    int64_t negative = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), negative);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return std::nullopt;
    }
    return 0;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

sdk::Result<uint32_t> MessageIdAllocator::NextSingleId(sdk::MysqlConn& conn,
                                                       uint32_t relate_id) const {
  sdk::Result<uint64_t> stored = store::MaxRelationMsgId(conn, relate_id);
  if (!stored.ok()) {
    return stored.status();
  }
  return Next(*stored, keys::RelationMsgId(relate_id));
}

sdk::Result<uint32_t> MessageIdAllocator::NextGroupId(sdk::MysqlConn& conn,
                                                      uint32_t group_id) const {
  sdk::Result<uint64_t> stored = store::MaxGroupMsgId(conn, group_id);
  if (!stored.ok()) {
    return stored.status();
  }
  return Next(*stored, keys::GroupMsgId(group_id));
}

sdk::Result<uint32_t> MessageIdAllocator::Next(uint64_t stored_max,
                                               const std::string& counter_key) const {
  const uint64_t counter = ReadCounter(counter_key);
  std::optional<uint32_t> next = NextMsgId(stored_max, counter);
  if (!next) {
    return sdk::Status(DBP_E_INVALID,
                       sdk::StrCat("msgId space exhausted for ", counter_key, " (stored ",
                                   stored_max, ", counter ", counter, ")"));
  }
  return *next;
}

uint64_t MessageIdAllocator::ReadCounter(const std::string& key) const {
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command({"GET", key});
  if (!reply.ok() || reply->is_error()) {
    host_.Warn("cannot read ", key, " (", Describe(reply), "); msgId taken from MySQL alone");
    host_.Count("msg_id_counter_read_failures");
    return 0;
  }
  if (reply->is_nil()) {
    return 0;
  }
  std::optional<uint64_t> value = ParseCounter(reply->str());
  if (!value) {
    host_.Warn(key, " holds '", reply->str(), "', not a number; msgId taken from MySQL alone");
    host_.Count("msg_id_counter_read_failures");
    return 0;
  }
  return *value;
}

void MessageIdAllocator::RaiseSingleCounter(uint32_t relate_id, uint32_t id) const {
  RaiseCounter(keys::RelationMsgId(relate_id), id);
}

void MessageIdAllocator::RaiseGroupCounter(uint32_t group_id, uint32_t id) const {
  RaiseCounter(keys::GroupMsgId(group_id), id);
}

void MessageIdAllocator::RaiseCounter(const std::string& key, uint32_t id) const {
  const std::string value = keys::Num(id);
  auto reply =
      host_.RedisInstance(keys::kUnreadInstance).Command({"EVAL", kRaiseScript, "1", key, value});
  if (!reply.ok() || reply->is_error()) {
    host_.Warn("cannot raise ", key, " to ", id, " (", Describe(reply),
               "); the next id still follows MySQL");
    host_.Count("msg_id_counter_write_failures");
  }
}

}  // namespace dbproxy::plugins::message
