#include "core/base/log.h"

#include <chrono>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace dbproxy::log {
namespace {

std::mutex g_mu;
spdlog::sink_ptr g_sink;  // guarded by g_mu
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr SinkLocked() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  return g_sink;
}

}  // namespace

Status Setup(const std::string& level, const std::string& file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::Invalid("unknown log level '" + level + "'");
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_level = lvl;
  if (!file.empty()) {
    try {
      g_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);
    } catch (const spdlog::spdlog_ex& e) {
      return Status::Invalid("cannot open log file '" + file + "': " + e.what());
    }
  }
  // Lines below warn are flushed at least once a second, so a tail -f (or a test) sees them.
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::sink_ptr sink = SinkLocked();
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks() = {sink};
    l->set_level(lvl);
  });
  return Status::Ok();
}

std::shared_ptr<spdlog::logger> Get(const std::string& area) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (auto existing = spdlog::get(area)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(area, SinkLocked());
  logger->set_level(g_level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace dbproxy::log
