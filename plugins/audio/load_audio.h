#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/audio/config.h"

namespace dbproxy::plugins::audio {

// cid::kInternalAudioLoad (0xF011, internal; encodings in plugins/common/audio_service.h),
// the audio half of spec H11/H14. One SELECT for all requested ids (distinct, at most
// max_load_ids; the rest answer "not found"), then every row with a path and a non-zero
// size is downloaded in parallel under one total deadline (timeout_ms). Each requested id
// is answered in request order: found = 1 with duration (u32 BE) ‖ bytes when the download
// returned exactly IMAudio.size bytes, else found = 0. If the answer would not fit a frame,
// ids are answered "not found" from the end until it does.
// Thread: any worker, concurrently; no shared state.
class LoadAudio {
 public:
  LoadAudio(const sdk::Host& host, const Config& config) : host_(host), config_(config) {}
  LoadAudio(const LoadAudio&) = delete;
  LoadAudio& operator=(const LoadAudio&) = delete;

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  Config config_;
};

}  // namespace dbproxy::plugins::audio
