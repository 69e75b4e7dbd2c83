#pragma once

// Hostile protobuf bodies made from a valid one at the wire level (no reflection: the
// protocol is built LITE_RUNTIME). A body is split into its top-level fields (tag + value
// bytes); variants drop, repeat or replace fields and re-join them. Pure functions, any
// thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace dbproxy::testing::fault {

// One top-level field of a protobuf body.
struct WireField {
  uint32_t number = 0;
  uint32_t wire_type = 0;  // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::string bytes;       // the whole field: tag, (length,) value
};

// The top-level fields of body in order; nullopt if body is not well-formed protobuf.
std::optional<std::vector<WireField>> SplitFields(std::string_view body);

std::string JoinFields(const std::vector<WireField>& fields);

// Protobuf encodings, for building fields by hand.
std::string Varint(uint64_t value);
std::string VarintField(uint32_t number, uint64_t value);
std::string BytesField(uint32_t number, std::string_view value);

// A named hostile body.
struct Variant {
  std::string what;  // e.g. "field 2 = 4294967295", for failure messages
  std::string body;
};

// Strings that break naive SQL, format strings, C strings and charset handling: quotes,
// backslash, %, NUL, 4-byte UTF-8, invalid UTF-8, the classic injections, one byte past
// the 4096-byte text columns.
std::vector<std::string> NastyStrings();

// valid with each field number removed (every occurrence), one variant per number.
std::vector<Variant> MissingFieldVariants(std::string_view valid);

// valid with each varint field set to 0, 1, 2^31-1, 2^32-1, 2^32 (does not fit a uint32),
// 2^64-1; each length-delimited field set to every NastyStrings() value and to a string that
// brings the body to target_bytes; each repeated field (a number seen more than once)
// repeated until the body is about target_bytes long.
std::vector<Variant> EdgeValueVariants(std::string_view valid, size_t target_bytes);

// count random bodies from rng: random lengths (mostly short, some up to 4 KiB), some
// built from random well-formed fields so they get past the first tag.
std::vector<Variant> RandomBodies(std::mt19937* rng, int count);

// Every strict prefix of valid (0 .. size-1 bytes).
std::vector<Variant> Truncations(std::string_view valid);

}  // namespace dbproxy::testing::fault
