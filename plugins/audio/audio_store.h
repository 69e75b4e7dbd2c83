#pragma once

// The SQL of the audio module on IMAudio. Prepared statements only: TeamTalk pasted the URL
// and the ids into the SQL text (W4).
// Thread: any worker; each call takes and releases one pooled connection.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::audio {

struct AudioRow {
  uint32_t id = 0;
  std::string path;  // download URL; "" for SQL NULL
  uint32_t size = 0;
  uint32_t duration = 0;
};

// INSERT IMAudio (fromId, toId, path, size, duration, created) on teamtalk_master.
// Returns the new audio id.
sdk::Result<uint32_t> InsertAudio(const sdk::Host& host, uint32_t from, uint32_t to,
                                  std::string_view path, uint32_t size, uint32_t duration,
                                  uint32_t created);

// The rows of the given ids (one statement; ids distinct, at most 1024) on teamtalk_slave.
sdk::Result<std::vector<AudioRow>> SelectAudio(const sdk::Host& host,
                                               const std::vector<uint32_t>& ids);

}  // namespace dbproxy::plugins::audio
