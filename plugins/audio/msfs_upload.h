#pragma once

// Uploads one audio file to the media server (TeamTalk's msfs) with libcurl: HTTP POST,
// multipart/form-data with one part name="file", filename="1.audio", to the configured URL
// exactly as written (TeamTalk always appended "/", W37). Bounded by a connect timeout and
// a total timeout (TeamTalk had none, W32). REQUIRES: curl_global_init() ran (plugin Init).
// Thread: any worker, concurrently (one easy handle per call, no signals).

#include <cstdint>
#include <string>
#include <string_view>

#include "dbproxy/sdk/status.h"

namespace dbproxy::plugins::audio {

struct HttpLimits {
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 3000;
};

// Returns the URL the media server stored the bytes under, or DBP_E_UNAVAILABLE (transport
// failure or timeout, HTTP status other than 200) / DBP_E_INVALID (answer without
// error_code 0 and a url) with a message saying what happened.
sdk::Result<std::string> UploadAudio(const std::string& msfs_url, std::string_view audio,
                                     const HttpLimits& limits);

}  // namespace dbproxy::plugins::audio
