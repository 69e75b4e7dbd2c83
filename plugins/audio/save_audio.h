#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/audio/config.h"

namespace dbproxy::plugins::audio {

// cid::kInternalAudioSave (0xF010, internal; encodings in plugins/common/audio_service.h),
// the audio half of spec H10. msg_data must hold more than the 4-byte big-endian duration
// and at most max_audio_bytes of audio, else kInvalid. The audio bytes (without the
// duration) are uploaded to msfs_url; then IMAudio (fromId, toId, path = the returned url,
// size = audio bytes, duration, created = the message's create_time) is inserted on
// teamtalk_master and its id answered with kStored. Media server or MySQL failures (and an
// empty msfs_url) answer kFailed, so the message module answers msg_id 0.
// Thread: any worker, concurrently; no shared state.
class SaveAudio {
 public:
  SaveAudio(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  SaveAudio(const SaveAudio&) = delete;
  SaveAudio& operator=(const SaveAudio&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::audio
