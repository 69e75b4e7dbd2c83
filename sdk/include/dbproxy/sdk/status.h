#pragma once

// Status and Result<T> for plugin code: the C++ face of the ABI's integer error codes.
// Value types; any thread.

#include <string>
#include <utility>
#include <variant>

#include "dbproxy/abi.h"

namespace dbproxy::sdk {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == DBP_OK; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  int code_ = DBP_OK;
  std::string message_;
};

// Either a value or a non-OK Status. REQUIRES: ok() before value().
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

}  // namespace dbproxy::sdk
