#pragma once

// Placeholder lists for `IN (...)` whose lengths come from a small fixed set. Statements are
// prepared and cached per connection by SQL text, so a list of every possible length would
// make one statement per length and churn the cache; padding to the next power of two keeps a
// handful of shapes per query. Padding repeats the last value, which an IN list ignores.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dbproxy/sdk/mysql.h"

namespace dbproxy::plugins::sql {

// SET STATEMENT in a MariaDB-only comment (MySQL skips it), to put before a SELECT: with this
// many equality ranges or more the range optimizer takes row estimates from index
// statistics instead of diving into the index once per IN value. For statements with long
// IN lists and a single sensible plan the dives are pure cost.
inline constexpr const char* kNoIndexDives =
    "/*M!100301 SET STATEMENT eq_range_index_dive_limit=1 FOR */ ";

// The list length used for n values: the next power of two, at least 1.
inline size_t PaddedSize(size_t n) {
  size_t size = 1;
  while (size < n) {
    size <<= 1;
  }
  return size;
}

// "?,?,?" with n marks.
inline std::string Marks(size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.append(i == 0 ? "?" : ",?");
  }
  return out;
}

// "(?,?,?,?)" for PaddedSize(n) marks: the text after `IN`.
inline std::string InList(size_t n) { return "(" + Marks(PaddedSize(n)) + ")"; }

// Appends ids to params, padded to PaddedSize(ids.size()) by repeating the last id.
// REQUIRES: !ids.empty().
inline void AppendPadded(std::vector<sdk::Param>* params, const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    params->emplace_back(id);
  }
  for (size_t i = ids.size(); i < PaddedSize(ids.size()); ++i) {
    params->emplace_back(ids.back());
  }
}

// Splits n rows into power-of-two batches of at most max_batch rows (13 -> 8, 4, 1), so
// multi-row INSERTs also come in a few shapes. REQUIRES: max_batch is a power of two.
inline std::vector<size_t> Batches(size_t n, size_t max_batch) {
  std::vector<size_t> out;
  while (n > 0) {
    size_t b = max_batch;
    while (b > n) {
      b >>= 1;
    }
    out.push_back(b);
    n -= b;
  }
  return out;
}

}  // namespace dbproxy::plugins::sql
