#pragma once

// CPU time and resident memory of other processes (the server under test), read from
// /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS).

#include <cstdint>
#include <optional>
#include <string_view>

namespace dbproxy::bench {

struct ProcessSample {
  double cpu_s = 0;        // user + system CPU seconds since the process started
  uint64_t rss_bytes = 0;  // resident set size now
};

// utime + stime in clock ticks from the text of /proc/<pid>/stat; nullopt if malformed.
// The command name (field 2) may contain spaces and parentheses: fields are counted after
// the last ')'.
std::optional<uint64_t> ParseStatCpuTicks(std::string_view stat);

// VmRSS in bytes from the text of /proc/<pid>/status; nullopt if the line is missing.
std::optional<uint64_t> ParseStatusRssBytes(std::string_view status);

// Reads both for pid; nullopt if the process does not exist or cannot be read.
// Thread rule: any thread.
std::optional<ProcessSample> SampleProcess(int pid);

}  // namespace dbproxy::bench
