#pragma once

// MySQL through the host's pools: RAII connection, bound parameters, buffered results and
// transactions. A MysqlConn is used by one thread at a time (the one that acquired it).

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dbproxy/abi.h"
#include "dbproxy/sdk/status.h"

namespace dbproxy::sdk {

// One bound parameter. Holds a view: the referenced bytes must outlive Execute().
class Param {
 public:
  Param(std::nullptr_t) { v_.type = DBP_VALUE_NULL; }  // NOLINT
  Param(int v) : Param(static_cast<long long>(v)) {}   // NOLINT
  Param(long v) : Param(static_cast<long long>(v)) {}  // NOLINT
  Param(long long v) {                                 // NOLINT
    v_.type = DBP_VALUE_INT64;
    v_.i64 = v;
  }
  Param(unsigned v) : Param(static_cast<unsigned long long>(v)) {}       // NOLINT
  Param(unsigned long v) : Param(static_cast<unsigned long long>(v)) {}  // NOLINT
  Param(unsigned long long v) {                                          // NOLINT
    v_.type = DBP_VALUE_UINT64;
    v_.u64 = v;
  }
  Param(double v) {  // NOLINT
    v_.type = DBP_VALUE_DOUBLE;
    v_.f64 = v;
  }
  Param(std::string_view s) {  // NOLINT
    v_.type = DBP_VALUE_BYTES;
    v_.data = s.data();
    v_.len = s.size();
  }
  Param(const std::string& s) : Param(std::string_view(s)) {}  // NOLINT
  Param(const char* s) : Param(std::string_view(s)) {}         // NOLINT

  const dbp_value_t& value() const { return v_; }

 private:
  dbp_value_t v_{};
};

// A buffered result set. Move-only; frees itself.
class MysqlResult {
 public:
  MysqlResult() = default;
  MysqlResult(const dbp_host_api_t* api, dbp_mysql_result_t* r) : api_(api), r_(r) {}
  MysqlResult(MysqlResult&& o) noexcept : api_(o.api_), r_(std::exchange(o.r_, nullptr)) {}
  MysqlResult& operator=(MysqlResult&& o) noexcept {
    std::swap(api_, o.api_);
    std::swap(r_, o.r_);
    return *this;
  }
  MysqlResult(const MysqlResult&) = delete;
  MysqlResult& operator=(const MysqlResult&) = delete;
  ~MysqlResult() {
    if (r_ != nullptr) {
      api_->mysql_result_free(r_);
    }
  }

  size_t rows() const { return r_ ? api_->mysql_result_rows(r_) : 0; }
  size_t columns() const { return r_ ? api_->mysql_result_columns(r_) : 0; }
  uint64_t affected() const { return r_ ? api_->mysql_result_affected(r_) : 0; }
  uint64_t insert_id() const { return r_ ? api_->mysql_result_insert_id(r_) : 0; }

  bool IsNull(size_t row, size_t col) const {
    const char* d = nullptr;
    size_t n = 0;
    return api_->mysql_result_cell(r_, row, col, &d, &n) != 1;
  }
  // The cell as bytes; "" for NULL or out of range (SQL NULL never crashes, W27).
  std::string_view Text(size_t row, size_t col) const {
    const char* d = nullptr;
    size_t n = 0;
    if (api_->mysql_result_cell(r_, row, col, &d, &n) != 1) {
      return {};
    }
    return std::string_view(d, n);
  }
  // The cell as an unsigned number; def for NULL or non-numeric text.
  uint64_t Uint(size_t row, size_t col, uint64_t def = 0) const {
    std::string_view t = Text(row, col);
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return (ec == std::errc() && ptr == t.data() + t.size() && !t.empty()) ? v : def;
  }
  int64_t Int(size_t row, size_t col, int64_t def = 0) const {
    std::string_view t = Text(row, col);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return (ec == std::errc() && ptr == t.data() + t.size() && !t.empty()) ? v : def;
  }

 private:
  const dbp_host_api_t* api_ = nullptr;
  dbp_mysql_result_t* r_ = nullptr;
};

// A connection borrowed from a pool; returned (and any open transaction rolled back) when
// this object dies. Move-only.
class MysqlConn {
 public:
  MysqlConn() = default;
  MysqlConn(const dbp_host_api_t* api, dbp_mysql_t* c) : api_(api), c_(c) {}
  MysqlConn(MysqlConn&& o) noexcept : api_(o.api_), c_(std::exchange(o.c_, nullptr)) {}
  MysqlConn& operator=(MysqlConn&& o) noexcept {
    Release();
    api_ = o.api_;
    c_ = std::exchange(o.c_, nullptr);
    return *this;
  }
  MysqlConn(const MysqlConn&) = delete;
  MysqlConn& operator=(const MysqlConn&) = delete;
  ~MysqlConn() { Release(); }

  // Gives the connection back early (before publishing an event, for example).
  void Release() {
    if (c_ != nullptr) {
      (void)api_->mysql_release(std::exchange(c_, nullptr));
    }
  }
  bool held() const { return c_ != nullptr; }

  // Runs one prepared statement. The result is empty for statements without rows.
  Result<MysqlResult> Execute(std::string_view sql, std::initializer_list<Param> params = {}) {
    return ExecuteSpan(sql, params.begin(), params.size());
  }
  Result<MysqlResult> ExecuteSpan(std::string_view sql, const Param* params, size_t n) {
    dbp_value_t stack[16] = {};
    dbp_value_t* values = stack;
    std::vector<dbp_value_t> heap;  // only for statements with more than 16 parameters
    if (n > 16) {
      heap.resize(n);
      values = heap.data();
    }
    for (size_t i = 0; i < n; ++i) {
      values[i] = params[i].value();
    }
    dbp_mysql_result_t* r = nullptr;
    int rc = api_->mysql_execute(c_, sql.data(), sql.size(), values, n, &r);
    if (rc != DBP_OK) {
      return Status(rc, Error());
    }
    return MysqlResult(api_, r);
  }

  Status Begin() { return Check(api_->mysql_begin(c_)); }
  Status Commit() { return Check(api_->mysql_commit(c_)); }
  Status Rollback() { return Check(api_->mysql_rollback(c_)); }

  std::string Error() const { return c_ ? api_->mysql_error(c_) : "no connection"; }
  unsigned ErrorNumber() const { return c_ ? api_->mysql_errno(c_) : 0; }

 private:
  Status Check(int rc) { return rc == DBP_OK ? Status() : Status(rc, Error()); }

  const dbp_host_api_t* api_ = nullptr;
  dbp_mysql_t* c_ = nullptr;
};

// Begins on construction; rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(MysqlConn& conn) : conn_(conn) { begun_ = conn_.Begin(); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (begun_.ok() && !done_) {
      (void)conn_.Rollback();  // best effort; release also rolls back
    }
  }
  const Status& begun() const { return begun_; }
  Status Commit() {
    done_ = true;
    return conn_.Commit();
  }

 private:
  MysqlConn& conn_;
  Status begun_;
  bool done_ = false;
};

}  // namespace dbproxy::sdk
