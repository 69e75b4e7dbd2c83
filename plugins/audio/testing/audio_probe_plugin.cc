// audio_probe (test only, never installed): puts the audio module's internal services on
// the wire so the audio integration test can drive them byte for byte, without depending on
// the message module.
//   0x7a10 -> 0x7a11: body = a kInternalAudioSave request; reply = the service's answer
//   0x7a12 -> 0x7a13: body = a kInternalAudioLoad request; reply = the service's answer
// A failed call replies "call failed: <reason>".

#include <string>

#include "dbproxy/sdk.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::audio {
namespace {

constexpr uint16_t kService = 7;

class AudioProbePlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    host_ = &host;
    sdk::Status s = host.RegisterCommand(
        0x7a10, [this](sdk::Request& r) { Forward(r, cid::kInternalAudioSave, 0x7a11); });
    if (s.ok()) {
      s = host.RegisterCommand(
          0x7a12, [this](sdk::Request& r) { Forward(r, cid::kInternalAudioLoad, 0x7a13); });
    }
    return s;
  }

 private:
  void Forward(sdk::Request& r, uint16_t internal, uint16_t answer_cmd) {
    std::string answer;
    sdk::Status c = host_->Call(
        internal, r.body(), [&](uint16_t, std::string_view body) { answer = std::string(body); });
    (void)r.Reply(kService, answer_cmd, c.ok() ? answer : "call failed: " + c.message());
  }

  sdk::Host* host_ = nullptr;
};

}  // namespace
}  // namespace dbproxy::plugins::audio

DBP_PLUGIN("audio_probe", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::audio::AudioProbePlugin)
