#pragma once

// The audio module's services, reached with in-process calls (never on the wire).
//
// kInternalAudioSave request:  from (u32 BE) ‖ to (u32 BE) ‖ create_time (u32 BE) ‖ msg_data
//   (msg_data = 4-byte big-endian duration ‖ audio bytes, as the client sent it)
// response: status (u32 BE: 0 stored, 1 invalid data, 2 media server or storage failure)
//   ‖ audio_id (u32 BE, 0 unless stored)
//
// kInternalAudioLoad request:  repeated audio_id (u32 BE)
// response: repeated { audio_id (u32 BE) ‖ found (u8: 1 = data follows) ‖ len (u32 BE) ‖
//   data (duration ‖ bytes) } in request order. Downloads run in parallel with a bounded
//   total time, so a list of N audio messages never costs N serial timeouts (W32).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dbproxy/sdk/plugin.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/membership.h"

namespace dbproxy::plugins::audio_service {

enum class SaveStatus : uint32_t { kStored = 0, kInvalid = 1, kFailed = 2 };

struct SaveResult {
  SaveStatus status = SaveStatus::kFailed;
  uint32_t audio_id = 0;
};

inline std::string EncodeSaveRequest(uint32_t from, uint32_t to, uint32_t create_time,
                                     std::string_view msg_data) {
  std::string out;
  membership::PutU32(&out, from);
  membership::PutU32(&out, to);
  membership::PutU32(&out, create_time);
  out.append(msg_data);
  return out;
}

inline std::string EncodeSaveResult(const SaveResult& r) {
  std::string out;
  membership::PutU32(&out, static_cast<uint32_t>(r.status));
  membership::PutU32(&out, r.audio_id);
  return out;
}

inline SaveResult DecodeSaveResult(std::string_view in) {
  SaveResult r;
  if (in.size() != 8) {
    return r;
  }
  r.status = static_cast<SaveStatus>(membership::GetU32(in, 0));
  r.audio_id = membership::GetU32(in, 4);
  return r;
}

// Stores an audio message; kFailed if the audio module is not enabled.
inline SaveResult Save(const sdk::Host& host, uint32_t from, uint32_t to, uint32_t create_time,
                       std::string_view msg_data) {
  SaveResult result;
  sdk::Status s =
      host.Call(cid::kInternalAudioSave, EncodeSaveRequest(from, to, create_time, msg_data),
                [&](uint16_t, std::string_view body) { result = DecodeSaveResult(body); });
  if (!s.ok()) {
    result.status = SaveStatus::kFailed;
  }
  return result;
}

// audio id -> duration ‖ bytes for the ids that could be expanded. Missing ids stay absent
// (the caller keeps the decimal id as the message data, like TeamTalk).
inline std::unordered_map<uint32_t, std::string> Load(const sdk::Host& host,
                                                      const std::vector<uint32_t>& ids) {
  std::unordered_map<uint32_t, std::string> out;
  if (ids.empty()) {
    return out;
  }
  std::string req;
  for (uint32_t id : ids) {
    membership::PutU32(&req, id);
  }
  (void)host.Call(cid::kInternalAudioLoad, req, [&](uint16_t, std::string_view body) {
    size_t at = 0;
    while (at + 9 <= body.size()) {
      uint32_t id = membership::GetU32(body, at);
      bool found = body[at + 4] == 1;
      uint32_t len = membership::GetU32(body, at + 5);
      at += 9;
      if (at + len > body.size()) {
        break;
      }
      if (found) {
        out[id] = std::string(body.substr(at, len));
      }
      at += len;
    }
  });
  return out;
}

}  // namespace dbproxy::plugins::audio_service
