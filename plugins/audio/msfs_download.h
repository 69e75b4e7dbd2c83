#pragma once

// Downloads many audio files from the media server at once (libcurl multi): every transfer
// starts together (up to a connection limit) and the whole batch shares ONE deadline, so a
// list of N audio messages costs at most one timeout, not N (TeamTalk: 2 s each, serially,
// W32). A download counts only with HTTP 200 and a body of exactly the expected size; a
// longer body is cut off as soon as it exceeds it. REQUIRES: curl_global_init() ran.
// Thread: any worker, concurrently (one multi handle per call, no signals).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plugins/audio/msfs_upload.h"

namespace dbproxy::plugins::audio {

struct Download {
  std::string url;
  size_t expected_size = 0;
  std::optional<std::string> body;  // set when the download succeeded
};

struct DownloadStats {
  size_t ok = 0;
  size_t failed = 0;     // transport error, HTTP status, wrong size
  size_t timed_out = 0;  // still running at the deadline
};

// Fills body of every download that succeeds within limits.timeout_ms (all together).
DownloadStats DownloadAll(std::vector<Download>* downloads, const HttpLimits& limits,
                          size_t max_parallel);

}  // namespace dbproxy::plugins::audio
