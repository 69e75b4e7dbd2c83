#pragma once

// Several MySQL named locks (GET_LOCK) held on one connection for one scope: the way the
// message and session modules serialise creating rows that the original schema gives no
// unique key (relations, recent sessions) across every process sharing the database.
//
// The locks belong to the connection's session, so the connection must stay held and
// outlive the object; a lost session drops them on the server. A session may hold several
// named locks (MariaDB >= 10.0.2, MySQL >= 5.7). Names are taken in ascending order, so two
// writers never wait for each other in a cycle, kMaxPerStatement per statement
//   SELECT GET_LOCK(n1, t), GET_LOCK(n2, t), ...
// padded to a power of two by repeating the last name (few statement shapes): a repeated
// GET_LOCK of a name the session holds nests, and the release statement repeats it as well,
// so every grant is released. Each busy name waits up to the timeout on its own.
//
// Header-only; one thread (the one holding the connection).

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/plugin.h"
#include "plugins/common/sql_in_list.h"

namespace dbproxy::plugins {

class NamedLocks {
 public:
  // How a name reaches the server: as given (server-wide), or with "@<database>" appended
  // so that two databases on one server (test databases, two deployments) never share one.
  enum class Scope { kServer, kDatabase };

  static constexpr size_t kMaxPerStatement = 64;

  // names: ascending and distinct.
  NamedLocks(sdk::MysqlConn& conn, Scope scope, std::vector<std::string> names)
      : conn_(conn), scope_(scope), names_(std::move(names)) {}
  NamedLocks(const NamedLocks&) = delete;
  NamedLocks& operator=(const NamedLocks&) = delete;
  ~NamedLocks() {
    for (size_t at = 0; at < tried_; at += kMaxPerStatement) {
      // Best effort: a lost session has released them already; releasing a name that was
      // not granted (another session holds it) changes nothing.
      (void)Run("RELEASE_LOCK(", ")", at);
    }
  }

  // GET_LOCK of every name, each waiting up to timeout_s. Returns which names were granted,
  // in the order of names; the statement error otherwise (names tried so far are still
  // released by the destructor).
  sdk::Result<std::vector<bool>> Acquire(uint32_t timeout_s) {
    std::vector<bool> granted;
    granted.reserve(names_.size());
    const std::string tail = sdk::StrCat(", ", timeout_s, ")");
    for (size_t at = 0; at < names_.size(); at += kMaxPerStatement) {
      tried_ = std::min(names_.size(), at + kMaxPerStatement);
      auto r = Run("GET_LOCK(", tail, at);
      if (!r.ok()) {
        return r.status();
      }
      if (r->rows() != 1) {
        return sdk::Status(DBP_E_MYSQL, "GET_LOCK answered no row");
      }
      for (size_t i = 0; at + i < tried_; ++i) {
        granted.push_back(!r->IsNull(0, i) && r->Uint(0, i) == 1);
      }
    }
    return granted;
  }

  // Acquire, all or nothing: OK once every name is held; DBP_E_TIMEOUT naming the first
  // name another session kept.
  sdk::Status AcquireAll(uint32_t timeout_s) {
    auto granted = Acquire(timeout_s);
    if (!granted.ok()) {
      return granted.status();
    }
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!(*granted)[i]) {
        return sdk::Status(DBP_E_TIMEOUT,
                           sdk::StrCat("named lock ", names_[i], " busy for ", timeout_s, " s"));
      }
    }
    return sdk::Status();
  }

  const std::vector<std::string>& names() const { return names_; }

 private:
  // "SELECT <head><name><tail>, ..." over the padded chunk of names starting at `at`.
  sdk::Result<sdk::MysqlResult> Run(const char* head, const std::string& tail, size_t at) {
    const size_t n = std::min(names_.size() - at, kMaxPerStatement);
    const size_t padded = sql::PaddedSize(n);
    const char* name = scope_ == Scope::kServer ? "?" : "CONCAT(?, '@', IFNULL(DATABASE(), ''))";
    std::string statement = "SELECT ";
    std::vector<sdk::Param> params;
    params.reserve(padded);
    for (size_t i = 0; i < padded; ++i) {
      statement += sdk::StrCat(i == 0 ? "" : ", ", head, name, tail);
      params.emplace_back(names_[at + std::min(i, n - 1)]);
    }
    return conn_.ExecuteSpan(statement, params.data(), params.size());
  }

  sdk::MysqlConn& conn_;
  const Scope scope_;
  const std::vector<std::string> names_;
  size_t tried_ = 0;  // names_[0, tried_) may have been granted
};

}  // namespace dbproxy::plugins
