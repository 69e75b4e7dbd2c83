#include "plugins/message/message_id_allocator.h"

#include <charconv>
#include <limits>

#include "plugins/common/key_format.h"

namespace dbproxy::plugins::message {
namespace {

// For each i: SET KEYS[i] ARGV[i] if the stored value is missing, not a number, or lower.
// One script, so no other writer can slip in between a read and its write.
constexpr std::string_view kRaiseScript =
    "for i, key in ipairs(KEYS) do "
    "local v = tonumber(redis.call('GET', key)) "
    "if v == nil or v < tonumber(ARGV[i]) then redis.call('SET', key, ARGV[i]) end "
    "end return 0";

// Why a Redis call failed, for the log line.
std::string Describe(sdk::Result<sdk::RedisReply>& reply) {
  if (!reply.ok()) {
    return reply.status().message();
  }
  return reply->is_error() ? std::string(reply->str()) : "unexpected reply";
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

std::vector<uint64_t> MessageIdCounters::Read(const std::vector<std::string>& keys) const {
  std::vector<uint64_t> values(keys.size(), 0);
  if (keys.empty()) {
    return values;
  }
  std::vector<std::string_view> argv;
  argv.reserve(keys.size() + 1);
  argv.emplace_back("MGET");
  argv.insert(argv.end(), keys.begin(), keys.end());
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error() || reply->size() != keys.size()) {
    host_.Warn("cannot read ", keys.size(), " msgId counters (", Describe(reply),
               "); msgIds taken from MySQL alone");
    host_.Count("msg_id_counter_read_failures");
    return values;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    sdk::RedisValue v = (*reply)[i];
    if (v.is_nil()) {
      continue;
    }
    std::optional<uint64_t> value = ParseCounter(v.str());
    if (!value) {
      host_.Warn(keys[i], " holds '", v.str(), "', not a number; msgId taken from MySQL alone");
      host_.Count("msg_id_counter_read_failures");
      continue;
    }
    values[i] = *value;
  }
  return values;
}

void MessageIdCounters::Raise(const std::vector<std::string>& keys,
                              const std::vector<uint32_t>& ids) const {
  if (keys.empty()) {
    return;
  }
  std::vector<std::string> values;
  values.reserve(ids.size());
  for (uint32_t id : ids) {
    values.push_back(keys::Num(id));
  }
  const std::string key_count = keys::Num(static_cast<uint32_t>(keys.size()));
  std::vector<std::string_view> argv = {"EVAL", kRaiseScript, key_count};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), values.begin(), values.end());
  auto reply = host_.RedisInstance(keys::kUnreadInstance).Command(argv.data(), argv.size());
  if (!reply.ok() || reply->is_error()) {
    host_.Warn("cannot raise ", keys.size(), " msgId counters (first ", keys.front(), " to ",
               ids.front(), "): ", Describe(reply), "; the next ids still follow MySQL");
    host_.Count("msg_id_counter_write_failures");
  }
}

}  // namespace dbproxy::plugins::message
