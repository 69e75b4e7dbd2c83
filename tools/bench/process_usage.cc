#include "tools/bench/process_usage.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace dbproxy::bench {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ParseU64(std::string_view text, uint64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

std::optional<uint64_t> ParseStatCpuTicks(std::string_view stat) {
  const size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos) {
    return std::nullopt;
  }
  // After ')' come fields 3 (state), 4, ...; utime is field 14 and stime field 15.
  std::string_view rest = stat.substr(paren + 1);
  uint64_t utime = 0;
  uint64_t stime = 0;
  int field = 2;
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end);
    ++field;
    if (field == 14 && !ParseU64(token, &utime)) {
      return std::nullopt;
    }
    if (field == 15) {
      if (!ParseU64(token, &stime)) {
        return std::nullopt;
      }
      return utime + stime;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> ParseStatusRssBytes(std::string_view status) {
  constexpr std::string_view kKey = "VmRSS:";
  size_t at = 0;
  while (at < status.size()) {
    size_t eol = status.find('\n', at);
    if (eol == std::string_view::npos) {
      eol = status.size();
    }
    std::string_view line = status.substr(at, eol - at);
    at = eol + 1;
    if (!line.starts_with(kKey)) {
      continue;
    }
    line.remove_prefix(kKey.size());
    const size_t start = line.find_first_not_of(" \t");
    const size_t end = line.find(' ', start);
    if (start == std::string_view::npos || end == std::string_view::npos ||
        line.substr(end + 1) != "kB") {
      return std::nullopt;
    }
    uint64_t kb = 0;
    if (!ParseU64(line.substr(start, end - start), &kb)) {
      return std::nullopt;
    }
    return kb * 1024;
  }
  return std::nullopt;
}

std::optional<ProcessSample> SampleProcess(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::optional<std::string> stat = ReadFile(dir + "/stat");
  std::optional<std::string> status = ReadFile(dir + "/status");
  if (!stat || !status) {
    return std::nullopt;
  }
  std::optional<uint64_t> ticks = ParseStatCpuTicks(*stat);
  std::optional<uint64_t> rss = ParseStatusRssBytes(*status);
  if (!ticks || !rss) {
    return std::nullopt;
  }
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  return ProcessSample{static_cast<double>(*ticks) / static_cast<double>(ticks_per_s), *rss};
}

}  // namespace dbproxy::bench
