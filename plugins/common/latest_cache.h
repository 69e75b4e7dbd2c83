#pragma once

// A copy of every single-chat conversation's latest message in Redis (instance "unread"),
// so that an unread list (0x0307) need not probe MySQL once per conversation.
//
//   dbproxy_latest_<small uid>_<big uid>  string "<msgId>,<relateId>,<type>,<fromId>,<content>"
//
// Written by the message module after COMMIT, for the highest msgId of each conversation of
// a batch, never lowered (kStoreScript), expiring after kTtlSeconds without a message.
//
// Why a copy can be trusted: an entry is used only while its msgId equals the
// conversation's counter msg_id_<relateId> -- the counter every writer moves: the message
// module raises it to each id it commits, and an original db_proxy_server sharing the data
// INCRs it for each message it stores. Any message stored after the entry makes the two
// differ, and the reader then asks MySQL (kReadScript answers nil for that conversation).
// What the counter cannot reveal are changes no TeamTalk component makes: a message row
// deleted or edited by hand, a relation set inactive by hand, or a Redis restored from an
// older snapshot (whose unread counts are then older too); the copy then shows the previous
// latest message until the conversation's next one.
//
// Header-only; pure functions; any thread.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace dbproxy::plugins::latest_cache {

// Seconds an entry lives after the conversation's last message: bounds Redis memory to the
// conversations in use. An expired entry only means MySQL answers.
inline constexpr uint32_t kTtlSeconds = 7 * 24 * 3600;

inline std::string Key(uint32_t a, uint32_t b) {
  const uint32_t small = a < b ? a : b;
  const uint32_t big = a < b ? b : a;
  return "dbproxy_latest_" + std::to_string(small) + "_" + std::to_string(big);
}

struct Entry {
  uint32_t msg_id = 0;
  uint32_t relate_id = 0;
  uint32_t msg_type = 0;
  uint32_t from_user_id = 0;
  std::string content;
};

inline std::string Encode(const Entry& e) {
  std::string out = std::to_string(e.msg_id) + "," + std::to_string(e.relate_id) + "," +
                    std::to_string(e.msg_type) + "," + std::to_string(e.from_user_id) + ",";
  out.append(e.content);
  return out;
}

// Reads an entry; false if the four numbers are not there (the content is everything after
// the fourth comma, commas and any bytes included).
inline bool Decode(std::string_view text, Entry* out) {
  uint32_t* numbers[4] = {&out->msg_id, &out->relate_id, &out->msg_type, &out->from_user_id};
  size_t at = 0;
  for (uint32_t* n : numbers) {
    const size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) {
      return false;
    }
    const char* first = text.data() + at;
    const char* last = text.data() + comma;
    auto [ptr, ec] = std::from_chars(first, last, *n);
    if (ec != std::errc() || ptr != last || first == last) {
      return false;
    }
    at = comma + 1;
  }
  out->content = std::string(text.substr(at));
  return true;
}

// KEYS = entry keys, ARGV = {ttl seconds, value 1, value 2, ...}: each key is set to its
// value unless it already holds a higher msgId (two writers' after-COMMIT steps may land in
// either order).
inline constexpr std::string_view kStoreScript =
    "for i, key in ipairs(KEYS) do "
    "local v = ARGV[i + 1] "
    "local id = tonumber(string.match(v, '^(%d+),')) "
    "local old = redis.call('GET', key) "
    "local old_id = old and tonumber(string.match(old, '^(%d+),')) "
    "if id and (not old_id or old_id < id) then redis.call('SET', key, v, 'EX', ARGV[1]) end "
    "end return 0";

// KEYS = entry keys. Answers an array: element i is KEYS[i]'s value if its msgId equals
// the counter msg_id_<its relateId>, else nil. One round trip reads and checks them all.
inline constexpr std::string_view kReadScript =
    "local out = {} "
    "for i, key in ipairs(KEYS) do "
    "local hit = false "
    "local v = redis.call('GET', key) "
    "if v then "
    "local id, rid = string.match(v, '^(%d+),(%d+),') "
    "if id and redis.call('GET', 'msg_id_' .. rid) == id then hit = v end "
    "end "
    "out[i] = hit "
    "end return out";

}  // namespace dbproxy::plugins::latest_cache
