#pragma once

// Prints a finished run: a text report for people, or one JSON object for scripts. Both show
// the same numbers; tools/bench/README.md lists the JSON fields.

#include <string>

#include "tools/bench/bench_options.h"
#include "tools/bench/load_runner.h"

namespace dbproxy::bench {

std::string FormatTextReport(const BenchOptions& options, const RunResult& result);

// One JSON object, newline-terminated.
std::string FormatJsonReport(const BenchOptions& options, const RunResult& result);

// True if any request of any phase failed (the exit status is 1 then).
bool HasFailures(const RunResult& result);

}  // namespace dbproxy::bench
