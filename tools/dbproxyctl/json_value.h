#pragma once

// A minimal JSON reader for the admin socket's answers: objects, arrays, strings, numbers,
// booleans, null. Enough to print what dbproxyd sends; not a general-purpose parser.
// Value type; any thread.

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dbproxy::ctl {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;  // kString; for kNumber the literal as sent
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> fields;  // kObject, in document order

  // The field's value, or a null value when absent.
  const JsonValue& operator[](const std::string& key) const;
  // Renders scalars for humans ("true", "12", the string itself).
  std::string Scalar() const;
};

// Parses text; returns false (and leaves *out unspecified) on malformed input.
bool ParseJson(const std::string& text, JsonValue* out);

}  // namespace dbproxy::ctl
