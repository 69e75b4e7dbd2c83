#include "core/storage/mysql_connection.h"

#include <errmsg.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <mutex>
#include <utility>

#include <mysqld_error.h>

#include "core/base/log.h"
#include "core/storage/clock.h"

namespace dbproxy::storage {
namespace {

// Cells up to this size are copied straight from the fetch; longer ones (TEXT, BLOB) are
// fetched a second time, whole, into the arena. Most cells are ids and short strings.
constexpr unsigned long kInlineCellBytes = 256;

// The client library takes whole seconds; round up so a short timeout never becomes 0
// (which would mean "wait forever").
unsigned int TimeoutSeconds(uint32_t ms) { return std::max(1u, (ms + 999u) / 1000u); }

// Errors after which the session cannot be trusted: the server is unreachable or gone, the
// socket failed or timed out mid-reply, the server killed the session or is shutting down,
// or client and server disagree about where the protocol stands.
bool IsConnectionError(unsigned err) {
  static constexpr unsigned kConnectionErrors[] = {
      // Client side: cannot reach the server, lost it, or fell out of step with it.
      CR_SOCKET_CREATE_ERROR, CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_IPSOCK_ERROR,
      CR_UNKNOWN_HOST, CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_COMMANDS_OUT_OF_SYNC,
      CR_SERVER_LOST_EXTENDED, CR_STMT_CLOSED, CR_ERR_NET_READ, CR_ERR_NET_WRITE,
      // Server side: shutting down, network trouble, or this session was killed.
      ER_SERVER_SHUTDOWN, ER_NET_READ_ERROR, ER_NET_READ_INTERRUPTED, ER_NET_ERROR_ON_WRITE,
      ER_NEW_ABORTING_CONNECTION, ER_CONNECTION_KILLED};
  return std::find(std::begin(kConnectionErrors), std::end(kConnectionErrors), err) !=
         std::end(kConnectionErrors);
}

// Sets the TLS options of a connection that must not run without TLS. The connector's own
// defaults differ between versions (3.4 verifies by default, 3.3 does not), so every
// setting is explicit. False if the library refused an option.
bool SetTlsOptions(MYSQL* mysql, const config::MysqlTlsConfig& tls) {
  const my_bool enforce = 1;
  const my_bool verify = tls.verify_server_cert ? 1 : 0;
  bool ok = mysql_options(mysql, MYSQL_OPT_SSL_ENFORCE, &enforce) == 0 &&
            mysql_options(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify) == 0;
  if (!tls.ca.empty()) {
    ok = ok && mysql_options(mysql, MYSQL_OPT_SSL_CA, tls.ca.c_str()) == 0;
  }
  if (!tls.cert.empty()) {
    ok = ok && mysql_options(mysql, MYSQL_OPT_SSL_CERT, tls.cert.c_str()) == 0 &&
         mysql_options(mysql, MYSQL_OPT_SSL_KEY, tls.key.c_str()) == 0;
  }
  return ok;
}

}  // namespace

Status InitMysqlLibrary() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = mysql_library_init(0, nullptr, nullptr); });
  if (rc != 0) {
    return Status::Internal("mysql_library_init failed");
  }
  return Status::Ok();
}

bool MysqlResultSet::Cell(size_t row, size_t col, const char** data, size_t* len) const {
  *data = nullptr;
  *len = 0;
  if (row >= rows_ || col >= columns_) {
    return false;
  }
  const size_t i = row * columns_ + col;
  if (cell_null_[i]) {
    return false;
  }
  const size_t begin = i == 0 ? 0 : cell_end_[i - 1];
  *data = arena_.data() + begin;
  *len = cell_end_[i] - begin;
  return true;
}

MysqlConnection::MysqlConnection(const config::MysqlPoolConfig& config, std::string password,
                                 MysqlPoolShared* shared)
    : config_(config), password_(std::move(password)), shared_(shared) {}

MysqlConnection::~MysqlConnection() { Close(); }

uint64_t MysqlConnection::connection_id() const {
  return mysql_ == nullptr ? 0 : mysql_thread_id(mysql_);
}

std::string MysqlConnection::tls_cipher() const {
  const char* cipher = mysql_ == nullptr ? nullptr : mysql_get_ssl_cipher(mysql_);
  return cipher != nullptr ? cipher : "";
}

void MysqlConnection::CloseStatements() {
  statement_index_.clear();
  for (CachedStatement& cached : statements_) {
    mysql_stmt_close(cached.stmt);
  }
  statements_.clear();
}

void MysqlConnection::Close() {
  CloseStatements();
  if (mysql_ != nullptr) {
    mysql_close(mysql_);
    mysql_ = nullptr;
  }
  broken_ = true;
  in_transaction_ = false;
  transaction_aborted_by_ = 0;
}

Status MysqlConnection::Fail(unsigned err, const char* message) {
  last_errno_ = err;
  last_error_ = message != nullptr ? message : "";
  if (shared_ != nullptr) {
    shared_->errors.fetch_add(1, std::memory_order_relaxed);
  }
  std::string text = "mysql error " + std::to_string(err) + ": " + last_error_;
  if (in_transaction_ && (err == ER_LOCK_DEADLOCK || err == ER_LOCK_WAIT_TIMEOUT)) {
    // InnoDB rolled back the transaction (deadlock) or may have (lock wait timeout).
    transaction_aborted_by_ = err;
  }
  if (IsConnectionError(err)) {
    broken_ = true;
    return Status::Unavailable(std::move(text));
  }
  return Status(DBP_E_MYSQL, std::move(text));
}

Status MysqlConnection::FailStatement(MYSQL_STMT* stmt) {
  return Fail(mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
}

Status MysqlConnection::Connect() {
  Close();
  const std::string where = config_.unix_socket.empty()
                                ? config_.host + ":" + std::to_string(config_.port)
                                : config_.unix_socket;
  if (shared_ != nullptr &&
      SteadyNowMs() < shared_->connect_blocked_until_ms.load(std::memory_order_relaxed)) {
    // Keep last_error_ from the failure that armed the window: it is the useful one.
    return Status::Unavailable("mysql " + where + " is down (last connect failed less than " +
                               std::to_string(kConnectRetryDelayMs) + " ms ago)");
  }

  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) {
    return Status(DBP_E_NOMEM, "mysql_init failed");
  }
  const unsigned int connect_s = TimeoutSeconds(config_.connect_timeout_ms);
  const unsigned int read_s = TimeoutSeconds(config_.read_timeout_ms);
  const unsigned int write_s = TimeoutSeconds(config_.write_timeout_ms);
  // We reconnect ourselves: the library's auto-reconnect would silently drop a transaction
  // and the prepared statements.
  const my_bool no_reconnect = 0;
  const my_bool report_truncation = 1;
  // Explicit, or "localhost" would mean the default socket although TCP was configured.
  const unsigned int protocol =
      config_.unix_socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &read_s);
  mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &write_s);
  mysql_options(mysql_, MYSQL_OPT_RECONNECT, &no_reconnect);
  mysql_options(mysql_, MYSQL_REPORT_DATA_TRUNCATION, &report_truncation);
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol);
  const bool tls_options_set = !config_.tls || SetTlsOptions(mysql_, *config_.tls);

  // CLIENT_FOUND_ROWS: affected rows count matched rows, so an UPDATE that writes the
  // values a row already has is not mistaken for "no such row" (W36).
  const bool connected =
      tls_options_set &&
      mysql_real_connect(mysql_, config_.host.c_str(), config_.user.c_str(), password_.c_str(),
                         config_.database.empty() ? nullptr : config_.database.c_str(),
                         config_.port,
                         config_.unix_socket.empty() ? nullptr : config_.unix_socket.c_str(),
                         CLIENT_FOUND_ROWS) != nullptr;
  // Belt and braces: Connector/C 3.3.20 (Debian 12) completed a plaintext login to a server
  // without TLS despite MYSQL_OPT_SSL_ENFORCE (no ca, verify_server_cert false; see
  // tests/tls). A session configured for TLS that is not encrypted is never used.
  const bool plaintext = connected && config_.tls && tls_cipher().empty();
  if (!connected || plaintext) {
    Status failed =
        !tls_options_set
            ? Fail(CR_SSL_CONNECTION_ERROR, "the client library refused the TLS options")
        : plaintext ? Fail(CR_SSL_CONNECTION_ERROR,
                           "the server offers no TLS and mysql.<pool>.tls forbids plaintext")
                    : Fail(mysql_errno(mysql_), mysql_error(mysql_));
    const char* tls_note = config_.tls ? " over TLS" : "";
    mysql_close(mysql_);
    mysql_ = nullptr;
    broken_ = true;
    if (shared_ != nullptr) {
      shared_->connect_blocked_until_ms.store(SteadyNowMs() + kConnectRetryDelayMs,
                                              std::memory_order_relaxed);
      // One warning per outage, not one per attempt.
      const bool was_down = shared_->server_down.exchange(true, std::memory_order_relaxed);
      log::Get("storage.mysql")
          ->log(was_down ? spdlog::level::debug : spdlog::level::warn,
                "pool {}: cannot connect to {} as {}{}: {}", shared_->pool_name, where,
                config_.user, tls_note, failed.message());
    }
    return Status::Unavailable(failed.message());
  }
  broken_ = false;
  last_errno_ = 0;
  last_error_.clear();
  if (config_.tls && shared_ != nullptr &&
      !shared_->tls_reported.exchange(true, std::memory_order_relaxed)) {
    const char* version = nullptr;
    if (mariadb_get_infov(mysql_, MARIADB_CONNECTION_TLS_VERSION, &version) != 0) {
      version = nullptr;
    }
    log::Get("storage.mysql")
        ->info("pool {}: TLS to {} as {}: {} cipher {}, server certificate {}", shared_->pool_name,
               where, config_.user, version != nullptr ? version : "TLS", tls_cipher(),
               config_.tls->verify_server_cert ? "verified"
               : config_.tls->ca.empty()       ? "NOT verified"
                                               : "chain checked against ca, host name not checked");
  }
  track_gtid_ = false;
  if (shared_ != nullptr && shared_->commits != nullptr) {
    // The server then puts the commit's GTID into the OK packet of every COMMIT and
    // autocommitted write: no extra round trip per write.
    Status tracking = RunSimple("SET SESSION session_track_system_variables = 'last_gtid'");
    if (tracking.ok()) {
      track_gtid_ = true;
    } else if (broken_) {
      return tracking;
    } else if (!shared_->gtid_untracked.exchange(true, std::memory_order_relaxed)) {
      log::Get("storage.mysql")
          ->error(
              "pool {}: the server cannot report commit GTIDs ({}); reads of its replica "
              "pools go to this pool instead",
              shared_->pool_name, tracking.message());
    }
    last_errno_ = 0;  // the session itself is fine
    last_error_.clear();
  }
  if (shared_ != nullptr && shared_->server_down.exchange(false, std::memory_order_relaxed)) {
    log::Get("storage.mysql")->info("pool {}: connected to {} again", shared_->pool_name, where);
  }
  return Status::Ok();
}

bool MysqlConnection::PeerClosedWhileIdle() const {
  const int fd = static_cast<int>(mysql_get_socket(mysql_));
  if (fd < 0) {
    return true;
  }
  pollfd probe{};
  probe.fd = fd;
  probe.events = POLLIN | POLLRDHUP;
  if (poll(&probe, 1, 0) <= 0) {
    return false;  // nothing pending (or EINTR): the session looks alive
  }
  return (probe.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

Status MysqlConnection::EnsureSession() {
  if (mysql_ != nullptr && !broken_) {
    if (!PeerClosedWhileIdle()) {
      return Status::Ok();
    }
    // Typically wait_timeout, KILL or a server restart while the connection sat idle.
    broken_ = true;
    last_errno_ = CR_SERVER_GONE_ERROR;
    last_error_ = "server closed the connection while it was idle";
  }
  if (in_transaction_) {
    if (shared_ != nullptr) {
      shared_->errors.fetch_add(1, std::memory_order_relaxed);
    }
    return Status::Unavailable(
        "mysql connection lost inside a transaction; the server rolled it back");
  }
  return Connect();
}

Status MysqlConnection::Execute(std::string_view sql, const dbp_value_t* params, size_t n,
                                std::unique_ptr<MysqlResultSet>* out) {
  if (out != nullptr) {
    out->reset();
  }
  if (in_transaction_ && transaction_aborted_by_ != 0) {
    last_errno_ = transaction_aborted_by_;
    return Status(DBP_E_MYSQL, "mysql error " + std::to_string(transaction_aborted_by_) +
                                   ": the transaction was aborted by this error; roll it back");
  }
  Status status = EnsureSession();
  if (!status.ok()) {
    return status;
  }
  Stage failed_at = Stage::kExecute;
  status = ExecuteOnce(sql, params, n, out, &failed_at);
  if (status.ok() || !broken_ || in_transaction_) {
    return status;
  }
  // Only a failure that proves the statement never ran is retried; otherwise an INSERT
  // could land twice.
  const bool never_ran = failed_at == Stage::kPrepare || last_errno_ == CR_SERVER_GONE_ERROR;
  if (!never_ran) {
    return status;
  }
  Status reconnected = Connect();
  if (!reconnected.ok()) {
    return reconnected;
  }
  return ExecuteOnce(sql, params, n, out, &failed_at);
}

Status MysqlConnection::GetStatement(std::string_view sql, MYSQL_STMT** stmt) {
  auto found = statement_index_.find(sql);
  if (found != statement_index_.end()) {
    statements_.splice(statements_.begin(), statements_, found->second);
    *stmt = found->second->stmt;
    return Status::Ok();
  }
  MYSQL_STMT* prepared = mysql_stmt_init(mysql_);
  if (prepared == nullptr) {
    return Fail(mysql_errno(mysql_), mysql_error(mysql_));
  }
  if (mysql_stmt_prepare(prepared, sql.data(), sql.size()) != 0) {
    Status status = FailStatement(prepared);
    mysql_stmt_close(prepared);
    return status;
  }
  if (statements_.size() >= kMaxCachedStatements) {
    CachedStatement& oldest = statements_.back();
    statement_index_.erase(oldest.sql);
    mysql_stmt_close(oldest.stmt);
    statements_.pop_back();
  }
  statements_.push_front(CachedStatement{std::string(sql), prepared});
  statement_index_.emplace(statements_.front().sql, statements_.begin());
  *stmt = prepared;
  return Status::Ok();
}

Status MysqlConnection::ExecuteOnce(std::string_view sql, const dbp_value_t* params, size_t n,
                                    std::unique_ptr<MysqlResultSet>* out, Stage* failed_at) {
  *failed_at = Stage::kPrepare;
  MYSQL_STMT* stmt = nullptr;
  Status status = GetStatement(sql, &stmt);
  if (!status.ok()) {
    return status;
  }
  *failed_at = Stage::kExecute;

  const unsigned long placeholders = mysql_stmt_param_count(stmt);
  if (placeholders != n) {
    last_errno_ = 0;
    last_error_ = "statement has " + std::to_string(placeholders) + " placeholders but " +
                  std::to_string(n) + " parameters were given";
    return Status::Invalid(last_error_);
  }
  // The library only reads input buffers, so pointing them at the caller's const values is
  // safe; the const_casts exist because MYSQL_BIND has no const flavour.
  std::vector<MYSQL_BIND> binds(n);
  std::vector<unsigned long> lengths(n);
  for (size_t i = 0; i < n; ++i) {
    const dbp_value_t& value = params[i];
    MYSQL_BIND& bind = binds[i];
    switch (value.type) {
      case DBP_VALUE_NULL:
        bind.buffer_type = MYSQL_TYPE_NULL;
        break;
      case DBP_VALUE_INT64:
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = const_cast<int64_t*>(&value.i64);
        break;
      case DBP_VALUE_UINT64:
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = const_cast<uint64_t*>(&value.u64);
        bind.is_unsigned = 1;
        break;
      case DBP_VALUE_DOUBLE:
        bind.buffer_type = MYSQL_TYPE_DOUBLE;
        bind.buffer = const_cast<double*>(&value.f64);
        break;
      case DBP_VALUE_BYTES:
        if (value.data == nullptr && value.len != 0) {
          last_errno_ = 0;
          last_error_ = "parameter " + std::to_string(i) + " has a length but no data";
          return Status::Invalid(last_error_);
        }
        // STRING, not BLOB: the server then reads the value in the connection charset, so
        // comparisons with text columns keep their collation; bytes still pass unchanged
        // into BLOB/VARBINARY columns. A null pointer would be sent as SQL NULL.
        bind.buffer_type = MYSQL_TYPE_STRING;
        bind.buffer = const_cast<char*>(value.data != nullptr ? value.data : "");
        bind.buffer_length = value.len;
        lengths[i] = value.len;
        bind.length = &lengths[i];
        break;
      default:
        last_errno_ = 0;
        last_error_ =
            "parameter " + std::to_string(i) + " has unknown type " + std::to_string(value.type);
        return Status::Invalid(last_error_);
    }
  }
  if (n > 0 && mysql_stmt_bind_param(stmt, binds.data()) != 0) {
    return FailStatement(stmt);
  }
  if (mysql_stmt_execute(stmt) != 0) {
    return FailStatement(stmt);
  }

  auto result = std::make_unique<MysqlResultSet>();
  if (mysql_stmt_field_count(stmt) == 0) {
    result->affected_ = mysql_stmt_affected_rows(stmt);
    result->insert_id_ = mysql_stmt_insert_id(stmt);
  } else {
    status = FetchAll(stmt, result.get());
    if (!status.ok()) {
      return status;
    }
  }
  if (!in_transaction_) {
    CaptureGtid();  // an autocommitted write committed with this statement
  }
  if (out != nullptr) {
    *out = std::move(result);
  }
  return Status::Ok();
}

Status MysqlConnection::FetchAll(MYSQL_STMT* stmt, MysqlResultSet* result) {
  if (mysql_stmt_store_result(stmt) != 0) {
    return FailStatement(stmt);
  }
  const unsigned int columns = mysql_stmt_field_count(stmt);
  const size_t expected_rows = mysql_stmt_num_rows(stmt);
  std::vector<MYSQL_BIND> binds(columns);
  std::vector<char> inline_cells(static_cast<size_t>(columns) * kInlineCellBytes);
  std::vector<unsigned long> lengths(columns);
  std::vector<my_bool> is_null(columns);
  std::vector<my_bool> truncated(columns);
  for (unsigned int c = 0; c < columns; ++c) {
    // Every column as text, whatever its type: plugins parse what they need.
    binds[c].buffer_type = MYSQL_TYPE_STRING;
    binds[c].buffer = inline_cells.data() + static_cast<size_t>(c) * kInlineCellBytes;
    binds[c].buffer_length = kInlineCellBytes;
    binds[c].length = &lengths[c];
    binds[c].is_null = &is_null[c];
    binds[c].error = &truncated[c];
  }
  Status status;
  if (mysql_stmt_bind_result(stmt, binds.data()) != 0) {
    status = FailStatement(stmt);
    mysql_stmt_free_result(stmt);
    return status;
  }

  result->columns_ = columns;
  result->cell_end_.reserve(expected_rows * columns);
  result->cell_null_.reserve(expected_rows * columns);
  std::string& arena = result->arena_;
  for (;;) {
    const int rc = mysql_stmt_fetch(stmt);
    if (rc == MYSQL_NO_DATA) {
      break;
    }
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
      status = FailStatement(stmt);
      break;
    }
    for (unsigned int c = 0; c < columns && status.ok(); ++c) {
      if (is_null[c] != 0) {
        result->cell_null_.push_back(true);
        result->cell_end_.push_back(arena.size());
        continue;
      }
      const unsigned long len = lengths[c];
      if (len <= kInlineCellBytes) {
        arena.append(static_cast<const char*>(binds[c].buffer), len);
      } else {
        // Truncated in the inline buffer: fetch the whole value again, straight into place.
        const size_t start = arena.size();
        arena.resize(start + len);
        MYSQL_BIND whole{};
        unsigned long whole_len = 0;
        my_bool whole_null = 0;
        my_bool whole_truncated = 0;
        whole.buffer_type = MYSQL_TYPE_STRING;
        whole.buffer = arena.data() + start;
        whole.buffer_length = len;
        whole.length = &whole_len;
        whole.is_null = &whole_null;
        whole.error = &whole_truncated;
        if (mysql_stmt_fetch_column(stmt, &whole, c, 0) != 0) {
          status = FailStatement(stmt);
          break;
        }
      }
      result->cell_null_.push_back(false);
      result->cell_end_.push_back(arena.size());
    }
    if (!status.ok()) {
      break;
    }
    ++result->rows_;
  }
  mysql_stmt_free_result(stmt);
  return status;
}

void MysqlConnection::CaptureGtid() {
  if (!track_gtid_) {
    return;
  }
  // Tracked variables come as name, value pairs; only last_gtid is tracked.
  const char* data = nullptr;
  size_t len = 0;
  if (mysql_session_track_get_first(mysql_, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len) != 0) {
    return;
  }
  do {
    if (std::string_view(data, len) != "last_gtid" ||
        mysql_session_track_get_next(mysql_, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len) != 0) {
      continue;
    }
    const std::string_view gtid(data, len);
    if (gtid.empty() || gtid == last_gtid_) {
      return;
    }
    last_gtid_.assign(gtid);
    if (Status merged = shared_->commits->Merge(gtid); !merged.ok()) {
      log::Get("storage.mysql")
          ->warn("pool {}: ignoring last_gtid from the server: {}", shared_->pool_name,
                 merged.message());
    }
    return;
  } while (mysql_session_track_get_next(mysql_, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len) == 0);
}

Status MysqlConnection::RunSimple(std::string_view sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    return Fail(mysql_errno(mysql_), mysql_error(mysql_));
  }
  return Status::Ok();
}

Status MysqlConnection::Begin() {
  if (in_transaction_) {
    return Status(DBP_E_STATE, "a transaction is already open on this connection");
  }
  Status status = EnsureSession();
  if (!status.ok()) {
    return status;
  }
  status = RunSimple("START TRANSACTION");
  if (status.ok()) {
    in_transaction_ = true;
  }
  return status;
}

Status MysqlConnection::Commit() {
  if (!in_transaction_) {
    return Status(DBP_E_STATE, "no transaction is open on this connection");
  }
  in_transaction_ = false;
  const unsigned aborted_by = std::exchange(transaction_aborted_by_, 0);
  if (broken_) {
    return Status::Unavailable(
        "mysql connection lost inside the transaction; the server rolled it back");
  }
  if (aborted_by != 0) {
    (void)RunSimple("ROLLBACK");  // a lock wait timeout may have left it open
    return Status(DBP_E_MYSQL, "mysql error " + std::to_string(aborted_by) +
                                   ": the transaction was aborted by this error; not committed");
  }
  Status status = RunSimple("COMMIT");
  if (status.ok()) {
    CaptureGtid();
  }
  if (!status.ok() && !broken_) {
    // Leave no half-open transaction behind a failed commit. If this fails too the error
    // that matters is still the commit's.
    (void)RunSimple("ROLLBACK");
  }
  return status;
}

Status MysqlConnection::Rollback() {
  if (!in_transaction_) {
    return Status::Ok();
  }
  in_transaction_ = false;
  transaction_aborted_by_ = 0;
  if (broken_) {
    return Status::Ok();  // the server rolled back when the session ended
  }
  Status status = RunSimple("ROLLBACK");
  if (!status.ok() && broken_) {
    return Status::Ok();  // lost mid-rollback: the server rolls back all the same
  }
  return status;
}

}  // namespace dbproxy::storage
