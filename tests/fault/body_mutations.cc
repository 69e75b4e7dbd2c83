#include "tests/fault/body_mutations.h"

#include <map>
#include <set>

namespace dbproxy::testing::fault {
namespace {

// Reads a varint at body[*pos]; false if it runs past the end or over 10 bytes.
bool ReadVarint(std::string_view body, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*pos >= body.size()) {
      return false;
    }
    auto byte = static_cast<uint8_t>(body[(*pos)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

std::string Tag(uint32_t number, uint32_t wire_type) {
  return Varint((static_cast<uint64_t>(number) << 3) | wire_type);
}

std::string RandomBytes(std::mt19937* rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (char& c : out) {
    c = static_cast<char>(byte(*rng));
  }
  return out;
}

}  // namespace

std::optional<std::vector<WireField>> SplitFields(std::string_view body) {
  std::vector<WireField> fields;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t start = pos;
    uint64_t tag = 0;
    if (!ReadVarint(body, &pos, &tag) || (tag >> 3) == 0) {
      return std::nullopt;
    }
    WireField f;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire_type = static_cast<uint32_t>(tag & 7);
    uint64_t skip = 0;
    switch (f.wire_type) {
      case 0:
        if (!ReadVarint(body, &pos, &skip)) {
          return std::nullopt;
        }
        skip = 0;
        break;
      case 1:
        skip = 8;
        break;
      case 2:
        if (!ReadVarint(body, &pos, &skip)) {
          return std::nullopt;
        }
        break;
      case 5:
        skip = 4;
        break;
      default:
        return std::nullopt;
    }
    if (skip > body.size() - pos) {
      return std::nullopt;
    }
    pos += skip;
    f.bytes.assign(body.substr(start, pos - start));
    fields.push_back(std::move(f));
  }
  return fields;
}

std::string JoinFields(const std::vector<WireField>& fields) {
  std::string out;
  for (const WireField& f : fields) {
    out += f.bytes;
  }
  return out;
}

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string VarintField(uint32_t number, uint64_t value) { return Tag(number, 0) + Varint(value); }

std::string BytesField(uint32_t number, std::string_view value) {
  return Tag(number, 2) + Varint(value.size()) + std::string(value);
}

std::vector<std::string> NastyStrings() {
  return {
      "",
      "'",
      "\"",
      "\\",
      "%",
      "%s%s%s%n%x",
      std::string("nul\0inside", 10),
      std::string("\0", 1),
      "\xF0\x9F\x98\x80 4-byte \xF0\x9F\x8E\x89",
      "\xff\xfe\xc3 invalid utf-8",
      "' OR '1'='1",
      "1' OR '1'='1' -- ",
      "x'); DROP TABLE IMUser; -- ",
      "\\'; SELECT SLEEP(5); -- ",
      "_%\\_%",
      std::string(4097, 'w'),
  };
}

std::vector<Variant> MissingFieldVariants(std::string_view valid) {
  std::vector<Variant> out;
  std::optional<std::vector<WireField>> fields = SplitFields(valid);
  if (!fields) {
    return out;
  }
  std::set<uint32_t> numbers;
  for (const WireField& f : *fields) {
    numbers.insert(f.number);
  }
  for (uint32_t number : numbers) {
    std::vector<WireField> kept;
    for (const WireField& f : *fields) {
      if (f.number != number) {
        kept.push_back(f);
      }
    }
    out.push_back({"without field " + std::to_string(number), JoinFields(kept)});
  }
  return out;
}

std::vector<Variant> EdgeValueVariants(std::string_view valid, size_t target_bytes) {
  std::vector<Variant> out;
  std::optional<std::vector<WireField>> fields = SplitFields(valid);
  if (!fields) {
    return out;
  }
  const uint64_t kVarints[] = {0, 1, 0x7fffffffull, 0xffffffffull, 0x100000000ull, ~0ull};
  std::map<uint32_t, int> occurrences;
  for (const WireField& f : *fields) {
    ++occurrences[f.number];
  }
  std::set<uint32_t> done;
  for (size_t i = 0; i < fields->size(); ++i) {
    const WireField& f = (*fields)[i];
    if (!done.insert(f.number).second) {
      continue;  // one set of variants per field number, made on its first occurrence
    }
    auto with = [&](const std::string& replacement) {
      std::vector<WireField> copy = *fields;
      copy[i].bytes = replacement;
      return JoinFields(copy);
    };
    if (f.wire_type == 0) {
      for (uint64_t v : kVarints) {
        out.push_back({"field " + std::to_string(f.number) + " = " + std::to_string(v),
                       with(VarintField(f.number, v))});
      }
    } else if (f.wire_type == 2) {
      int k = 0;
      for (const std::string& s : NastyStrings()) {
        out.push_back(
            {"field " + std::to_string(f.number) + " = nasty string #" + std::to_string(k++),
             with(BytesField(f.number, s))});
      }
      size_t rest = valid.size() - f.bytes.size();
      size_t overhead = Tag(f.number, 2).size() + Varint(target_bytes).size();
      if (target_bytes > rest + overhead) {
        out.push_back(
            {"field " + std::to_string(f.number) + " = " +
                 std::to_string(target_bytes - rest - overhead) + "-byte string",
             with(BytesField(f.number, std::string(target_bytes - rest - overhead, 'h')))});
      }
    }
    // A repeated field (or the first field, repeated though it is not) filling the frame.
    if (occurrences[f.number] > 1 || i == 0) {
      std::string body(valid);
      while (body.size() + f.bytes.size() <= target_bytes) {
        body += f.bytes;
      }
      out.push_back({"field " + std::to_string(f.number) + " repeated to " +
                         std::to_string(body.size()) + " bytes",
                     std::move(body)});
    }
  }
  return out;
}

std::vector<Variant> RandomBodies(std::mt19937* rng, int count) {
  std::vector<Variant> out;
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<size_t> short_len(1, 64);
  std::uniform_int_distribution<size_t> long_len(65, 4096);
  std::uniform_int_distribution<uint32_t> number(1, 22);
  std::uniform_int_distribution<uint64_t> any64;
  for (int i = 0; i < count; ++i) {
    std::string body;
    switch (kind(*rng)) {
      case 0:
        body = RandomBytes(rng, short_len(*rng));
        break;
      case 1:
        body = RandomBytes(rng, long_len(*rng));
        break;
      default: {
        // Well-formed fields with random numbers and values; some land on real fields
        // with wrong types or wild values, and a random tail may cut the last one short.
        size_t n = short_len(*rng) % 8 + 1;
        for (size_t k = 0; k < n; ++k) {
          uint32_t num = number(*rng);
          if (any64(*rng) % 2 == 0) {
            uint64_t value = any64(*rng);
            body += VarintField(num, value >> (any64(*rng) % 64));
          } else {
            body += BytesField(num, RandomBytes(rng, short_len(*rng) % 24));
          }
        }
        if (any64(*rng) % 4 == 0) {
          body += RandomBytes(rng, short_len(*rng) % 5 + 1);
        }
      }
    }
    out.push_back({"random body #" + std::to_string(i), std::move(body)});
  }
  return out;
}

std::vector<Variant> Truncations(std::string_view valid) {
  std::vector<Variant> out;
  for (size_t n = 0; n < valid.size(); ++n) {
    out.push_back({"valid body cut at byte " + std::to_string(n), std::string(valid.substr(0, n))});
  }
  return out;
}

}  // namespace dbproxy::testing::fault
