#pragma once

// Status (code + message) and Result<T> for core code. Codes are the ABI's DBP_E_* values
// so a failure can cross to a plugin unchanged. Value types; any thread.

#include <string>
#include <utility>
#include <variant>

#include "dbproxy/abi.h"

namespace dbproxy {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  static Status Invalid(std::string m) { return Status(DBP_E_INVALID, std::move(m)); }
  static Status NotFound(std::string m) { return Status(DBP_E_NOT_FOUND, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(DBP_E_UNAVAILABLE, std::move(m)); }
  static Status Timeout(std::string m) { return Status(DBP_E_TIMEOUT, std::move(m)); }
  static Status Internal(std::string m) { return Status(DBP_E_INTERNAL, std::move(m)); }

  bool ok() const { return code_ == DBP_OK; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  int code_ = DBP_OK;
  std::string message_;
};

// Either a T or a non-OK Status. REQUIRES: ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

// Names a DBP_E_* code ("timeout", "unavailable", ...). Static strings.
const char* ErrorName(int code);

}  // namespace dbproxy
