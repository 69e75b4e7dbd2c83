#include "plugins/audio/msfs_answer.h"

#include <charconv>
#include <cstdint>

namespace dbproxy::plugins::audio {
namespace {

constexpr int kMaxDepth = 32;

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (at_ < s_.size() &&
           (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) {
      ++at_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return at_ == s_.size();
  }
  bool Eat(char c) {
    SkipSpace();
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return at_ < s_.size() ? s_[at_] : '\0';
  }

  // A string value, escapes decoded to UTF-8.
  bool String(std::string* out) {
    if (!Eat('"')) {
      return false;
    }
    out->clear();
    while (at_ < s_.size()) {
      char c = s_[at_++];
      if (c == '"') {
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return false;
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (at_ >= s_.size()) {
        return false;
      }
      char e = s_[at_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) {
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            uint32_t low = 0;
            if (at_ + 2 > s_.size() || s_[at_] != '\\' || s_[at_ + 1] != 'u') {
              return false;
            }
            at_ += 2;
            if (!Hex4(&low) || low < 0xDC00 || low >= 0xE000) {
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return false;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // A number as int64 (integers only; fractions and exponents fail).
  bool Integer(int64_t* out) {
    SkipSpace();
    auto [ptr, ec] = std::from_chars(s_.data() + at_, s_.data() + s_.size(), *out);
    if (ec != std::errc()) {
      return false;
    }
    at_ = static_cast<size_t>(ptr - s_.data());
    return at_ >= s_.size() || (s_[at_] != '.' && s_[at_] != 'e' && s_[at_] != 'E');
  }

  // Any value, discarded.
  bool Skip(int depth) {
    if (depth > kMaxDepth) {
      return false;
    }
    char c = Peek();
    if (c == '"') {
      std::string ignored;
      return String(&ignored);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++at_;
      if (Eat(close)) {
        return true;
      }
      do {
        if (c == '{') {
          std::string key;
          if (!String(&key) || !Eat(':')) {
            return false;
          }
        }
        if (!Skip(depth + 1)) {
          return false;
        }
      } while (Eat(','));
      return Eat(close);
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return true;
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = at_;
      while (at_ < s_.size() &&
             (std::string_view("+-.eE0123456789").find(s_[at_]) != std::string_view::npos)) {
        ++at_;
      }
      return at_ > start;
    }
    return false;
  }

 private:
  bool Hex4(uint32_t* out) {
    if (at_ + 4 > s_.size()) {
      return false;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s_[at_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t at_ = 0;
};

}  // namespace

std::optional<std::string> ParseUploadAnswer(std::string_view json) {
  JsonReader in(json);
  if (!in.Eat('{')) {
    return std::nullopt;
  }
  std::optional<int64_t> error_code;
  std::optional<std::string> url;
  if (!in.Eat('}')) {
    do {
      std::string key;
      if (!in.String(&key) || !in.Eat(':')) {
        return std::nullopt;
      }
      if (key == "error_code") {
        int64_t code = 0;
        if (in.Peek() == '"') {
          std::string text;
          if (!in.String(&text)) {
            return std::nullopt;
          }
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
          if (ec != std::errc() || ptr != text.data() + text.size()) {
            return std::nullopt;
          }
        } else if (!in.Integer(&code)) {
          return std::nullopt;
        }
        error_code = code;
      } else if (key == "url" && in.Peek() == '"') {
        std::string text;
        if (!in.String(&text)) {
          return std::nullopt;
        }
        url = std::move(text);
      } else if (!in.Skip(0)) {
        return std::nullopt;
      }
    } while (in.Eat(','));
    if (!in.Eat('}')) {
      return std::nullopt;
    }
  }
  if (!in.AtEnd() || error_code != 0 || !url || url->empty()) {
    return std::nullopt;
  }
  return url;
}

}  // namespace dbproxy::plugins::audio
