#pragma once

// The group membership service of the group_member module, reached with an in-process
// call of the internal command cid::kInternalGroupMembers (never on the wire).
//
// Request:  group_id (u32 BE) ‖ user_id (u32 BE, 0 = "all members")
// Response: status (u32 BE) ‖ repeated { user_id (u32 BE) ‖ join_time (u32 BE) }
//   status 0: the group exists; the list holds the asked member (if a member) or everyone
//   status 1: no such group (no members in MySQL either)
//   status 2: storage error (caller answers its command's failure result)
// The service rebuilds the Redis hash group_member_<gid> from IMGroupMember when it is
// missing, so callers never see a group vanish after a Redis flush.
// Callers must not hold a teamtalk_master connection while calling: a rebuild takes one
// (no handler holds two connections of one pool at once, W31).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::membership {

enum class Lookup : uint32_t { kOk = 0, kNoGroup = 1, kError = 2 };

struct Member {
  uint32_t user_id;
  uint32_t join_time;
};

struct Answer {
  Lookup status = Lookup::kError;
  std::vector<Member> members;
};

inline void PutU32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

inline uint32_t GetU32(std::string_view in, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[at + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

inline std::string EncodeRequest(uint32_t group_id, uint32_t user_id) {
  std::string out;
  PutU32(&out, group_id);
  PutU32(&out, user_id);
  return out;
}

inline std::string EncodeAnswer(const Answer& a) {
  std::string out;
  PutU32(&out, static_cast<uint32_t>(a.status));
  for (const Member& m : a.members) {
    PutU32(&out, m.user_id);
    PutU32(&out, m.join_time);
  }
  return out;
}

inline Answer DecodeAnswer(std::string_view in) {
  Answer a;
  if (in.size() < 4 || (in.size() - 4) % 8 != 0) {
    return a;
  }
  a.status = static_cast<Lookup>(GetU32(in, 0));
  for (size_t at = 4; at < in.size(); at += 8) {
    a.members.push_back({GetU32(in, at), GetU32(in, at + 4)});
  }
  return a;
}

// Asks the group_member module. user_id 0 = the whole member list. An absent service
// (group_member disabled) reads as kError.
inline Answer Query(const sdk::Host& host, uint32_t group_id, uint32_t user_id) {
  Answer answer;
  sdk::Status s = host.Call(cid::kInternalGroupMembers, EncodeRequest(group_id, user_id),
                            [&](uint16_t, std::string_view body) { answer = DecodeAnswer(body); });
  if (!s.ok()) {
    answer.status = Lookup::kError;
  }
  return answer;
}

}  // namespace dbproxy::plugins::membership
