#include "tools/dbproxyctl/json_value.h"

#include <cstdlib>

namespace dbproxy::ctl {
namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  bool Parse(JsonValue* v) {
    if (!Value(v)) {
      return false;
    }
    Skip();
    return i_ == s_.size();
  }

 private:
  void Skip() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  bool Literal(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (s_.compare(i_, n, word) != 0) {
      return false;
    }
    i_ += n;
    return true;
  }
  bool String(std::string* out) {
    if (s_[i_] != '"') {
      return false;
    }
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) {
        return false;
      }
      char e = s_[i_++];
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) {
            return false;
          }
          long code = std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16);
          i_ += 4;
          if (code < 0x80) {
            out->push_back(static_cast<char>(code));  // admin text is ASCII
          }
          break;
        }
        default:
          out->push_back(e);
      }
    }
    if (i_ >= s_.size()) {
      return false;
    }
    ++i_;
    return true;
  }
  bool Value(JsonValue* v) {
    Skip();
    if (i_ >= s_.size()) {
      return false;
    }
    char c = s_[i_];
    if (c == '{') {
      v->kind = JsonValue::Kind::kObject;
      ++i_;
      Skip();
      if (i_ < s_.size() && s_[i_] == '}') {
        return ++i_, true;
      }
      for (;;) {
        Skip();
        std::string key;
        if (i_ >= s_.size() || !String(&key)) {
          return false;
        }
        Skip();
        if (i_ >= s_.size() || s_[i_] != ':') {
          return false;
        }
        ++i_;
        JsonValue item;
        if (!Value(&item)) {
          return false;
        }
        v->fields.emplace_back(std::move(key), std::move(item));
        Skip();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') {
          return ++i_, true;
        }
        return false;
      }
    }
    if (c == '[') {
      v->kind = JsonValue::Kind::kArray;
      ++i_;
      Skip();
      if (i_ < s_.size() && s_[i_] == ']') {
        return ++i_, true;
      }
      for (;;) {
        JsonValue item;
        if (!Value(&item)) {
          return false;
        }
        v->items.push_back(std::move(item));
        Skip();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') {
          return ++i_, true;
        }
        return false;
      }
    }
    if (c == '"') {
      v->kind = JsonValue::Kind::kString;
      return String(&v->text);
    }
    if (Literal("true")) {
      v->kind = JsonValue::Kind::kBool;
      v->boolean = true;
      return true;
    }
    if (Literal("false")) {
      v->kind = JsonValue::Kind::kBool;
      return true;
    }
    if (Literal("null")) {
      return true;
    }
    size_t start = i_;
    while (i_ < s_.size() && (isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
    }
    if (start == i_) {
      return false;
    }
    v->kind = JsonValue::Kind::kNumber;
    v->text = s_.substr(start, i_ - start);
    v->number = std::strtod(v->text.c_str(), nullptr);
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

const JsonValue& JsonValue::operator[](const std::string& key) const {
  static const JsonValue kNull;
  for (const auto& [k, v] : fields) {
    if (k == key) {
      return v;
    }
  }
  return kNull;
}

std::string JsonValue::Scalar() const {
  switch (kind) {
    case Kind::kBool:
      return boolean ? "true" : "false";
    case Kind::kNumber:
      return text;
    case Kind::kString:
      return text;
    case Kind::kNull:
      return "-";
    default:
      return "...";
  }
}

bool ParseJson(const std::string& text, JsonValue* out) { return Parser(text).Parse(out); }

}  // namespace dbproxy::ctl
