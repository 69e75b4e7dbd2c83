#pragma once

// spdlog set-up and one named logger per area ("net", "storage.mysql", "plugin.message").
// Loggers are created on first use and share one sink. Any thread.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "core/base/status.h"

namespace dbproxy::log {

// Configures the shared sink: file (empty = stderr) and level name. Call once at start-up
// (main thread) before other threads log; later calls replace the level only.
Status Setup(const std::string& level, const std::string& file);

// The logger for an area. Never null.
std::shared_ptr<spdlog::logger> Get(const std::string& area);

}  // namespace dbproxy::log
