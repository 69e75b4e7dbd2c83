#pragma once

// YAML file -> config::Config. Unknown keys and wrong types are errors naming the file,
// the line and the key path ("dbproxy.yaml:12: server.workerz: unknown key (did you mean
// 'workers'?)"). Any thread; no shared state.

#include <string>

#include "core/base/status.h"
#include "core/config/config.h"

namespace dbproxy::config {

// Reads and validates the file at path.
Result<Config> LoadConfigFile(const std::string& path);

// Same, from text already in memory; source_name is used in error messages.
Result<Config> LoadConfigText(const std::string& text, const std::string& source_name);

// The closest of candidates to word by edit distance, or "" if none is close.
std::string ClosestKey(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dbproxy::config
