// Writes the seed corpus of the plugin_handlers fuzz target from real requests: the valid
// request of every command in tests/fault/command_catalog (the bodies the fault suites send
// to a real daemon), batches of three for the batch commands, the group and audio variants
// of a message send (they reach the group_member and audio modules through call()), the
// internal service requests between modules, a message.stored event and a timer tick.
//
// Usage: fuzz_write_seed_corpus <dir>   (tests/fuzz/corpus/plugin_handlers; see README.md)
// Input layout: see plugin_handlers_fuzz.cc (2-byte command id, batch count, body).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/audio_service.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/events.h"
#include "plugins/common/membership.h"
#include "tests/fault/command_catalog.h"

namespace {

namespace fault = dbproxy::testing::fault;
namespace p = dbproxy::plugins;

constexpr std::string_view kBatchMarker("\xff\xfe\xfd", 3);

struct Seed {
  std::string name;
  std::string bytes;
};

std::string Input(uint16_t cmd_id, uint8_t count, const std::vector<std::string>& bodies) {
  std::string out;
  out.push_back(static_cast<char>(cmd_id >> 8));
  out.push_back(static_cast<char>(cmd_id & 0xff));
  out.push_back(static_cast<char>(count - 1));  // the target reads 1 + byte % 8
  for (size_t i = 0; i < bodies.size(); ++i) {
    if (i > 0) {
      out.append(kBatchMarker);
    }
    out.append(bodies[i]);
  }
  return out;
}

std::string Hex(uint16_t id) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04x", id);
  return buf;
}

std::string MessageVariant(const std::string& valid, IM::BaseDefine::MsgType type, uint32_t to,
                           const std::string& data) {
  IM::Message::IMMsgData m;
  m.ParseFromString(valid);
  m.set_msg_type(type);
  m.set_to_session_id(to);
  m.set_msg_data(data);
  return m.SerializeAsString();
}

std::vector<Seed> Seeds() {
  std::vector<Seed> seeds;
  for (const fault::CommandCase& c : fault::Catalog()) {
    const std::string base = Hex(c.request_cmd) + "_" + std::string(c.module);
    seeds.push_back({base, Input(c.request_cmd, 1, {c.valid_body(1)})});
    if (c.request_cmd == p::cid::kMsgData || c.request_cmd == p::cid::kMsgUnreadCntReq) {
      seeds.push_back(
          {base + "_batch3",
           Input(c.request_cmd, 3, {c.valid_body(1), c.valid_body(2), c.valid_body(3)})});
    }
    if (c.request_cmd == p::cid::kMsgData) {
      const std::string valid = c.valid_body(4);
      seeds.push_back(
          {base + "_group",
           Input(c.request_cmd, 1,
                 {MessageVariant(valid, IM::BaseDefine::MSG_TYPE_GROUP_TEXT, 1, "group text")})});
      // An audio body is the 4-byte big-endian duration followed by the audio bytes.
      seeds.push_back(
          {base + "_audio",
           Input(c.request_cmd, 1,
                 {MessageVariant(valid, IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO, fault::kReceiver,
                                 std::string("\0\0\0\x03#!AMR\n", 10))})});
    }
  }
  // The services modules offer each other through call() (plugins/common).
  seeds.push_back(
      {Hex(p::cid::kInternalGroupMembers) + "_group_member",
       Input(p::cid::kInternalGroupMembers, 1, {p::membership::EncodeRequest(1, fault::kSender)})});
  seeds.push_back(
      {Hex(p::cid::kInternalAudioSave) + "_audio",
       Input(p::cid::kInternalAudioSave, 1,
             {p::audio_service::EncodeSaveRequest(fault::kSender, fault::kReceiver, 1700000000u,
                                                  std::string("\0\0\0\x03#!AMR\n", 10))})});
  std::string load;
  p::membership::PutU32(&load, 1);
  p::membership::PutU32(&load, 2);
  seeds.push_back(
      {Hex(p::cid::kInternalAudioLoad) + "_audio", Input(p::cid::kInternalAudioLoad, 1, {load})});
  // A message.stored batch of a single and a group message (the fuzz target publishes it).
  p::events::MessageStored single{1,           1, fault::kSender, fault::kReceiver, 7, 1,
                                  1700000000u, 3, 1700000001u};
  p::events::MessageStored group{1, 2, fault::kSender, 1, 8, 0x11, 1700000000u, 0, 1700000001u};
  seeds.push_back(
      {"0xffff_message_stored", Input(0xffff, 1, {p::events::EncodeBatch({single, group})})});
  seeds.push_back({"0xfffe_timers", Input(0xfffe, 1, {""})});
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  const std::vector<Seed> seeds = Seeds();
  for (const Seed& s : seeds) {
    std::ofstream out(dir / s.name, std::ios::binary | std::ios::trunc);
    out.write(s.bytes.data(), static_cast<std::streamsize>(s.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / s.name).c_str());
      return 1;
    }
  }
  std::printf("%zu seeds written to %s\n", seeds.size(), dir.c_str());
  return 0;
}
