#include "core/storage/mysql_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

// Runs against a real MariaDB started by tools/test, which exports DBPROXY_TEST_MYSQL_*.
// Every test works in its own scratch database, dropped when the test ends.

namespace dbproxy::storage {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

dbp_value_t Bytes(std::string_view s) {
  dbp_value_t v{};
  v.type = DBP_VALUE_BYTES;
  v.data = s.data();
  v.len = s.size();
  return v;
}

dbp_value_t Int(int64_t i) {
  dbp_value_t v{};
  v.type = DBP_VALUE_INT64;
  v.i64 = i;
  return v;
}

dbp_value_t Null() {
  dbp_value_t v{};
  v.type = DBP_VALUE_NULL;
  return v;
}

// The cell as a string; "<NULL>" for SQL NULL.
std::string CellText(const MysqlResultSet& r, size_t row, size_t col) {
  const char* data = nullptr;
  size_t len = 0;
  return r.Cell(row, col, &data, &len) ? std::string(data, len) : std::string("<NULL>");
}

// A port nothing listens on: bound once by us, then released.
uint16_t UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  (void)bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  (void)getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Borrows a connection for a scope, so that a failed ASSERT still gives it back.
class Lease {
 public:
  explicit Lease(MysqlPool& pool) : pool_(pool) {
    auto conn = pool.Acquire();
    status_ = conn.status();
    conn_ = conn.ok() ? *conn : nullptr;
  }
  ~Lease() { pool_.Release(conn_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  bool ok() const { return conn_ != nullptr; }
  const Status& status() const { return status_; }
  MysqlConnection* get() const { return conn_; }
  MysqlConnection* operator->() const { return conn_; }
  // Gives the connection back before the scope ends.
  void Return() {
    pool_.Release(conn_);
    conn_ = nullptr;
  }

 private:
  MysqlPool& pool_;
  Status status_;
  MysqlConnection* conn_ = nullptr;
};

class MysqlPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* port = std::getenv("DBPROXY_TEST_MYSQL_PORT");
    if (port == nullptr) {
      GTEST_FAIL() << "DBPROXY_TEST_MYSQL_PORT is not set: run the storage tests through "
                      "tools/test, which starts MariaDB and Redis and exports their ports";
    }
    base_.name = "test";
    base_.host = EnvOr("DBPROXY_TEST_MYSQL_HOST", "127.0.0.1");
    base_.port = static_cast<uint16_t>(std::atoi(port));
    base_.user = EnvOr("DBPROXY_TEST_MYSQL_USER", "root");
    base_.password = EnvOr("DBPROXY_TEST_MYSQL_PASSWORD", "");
    base_.database = "";
    base_.pool_size = 4;
    base_.connect_timeout_ms = 2000;
    base_.read_timeout_ms = 10000;
    base_.write_timeout_ms = 10000;
    base_.acquire_timeout_ms = 5000;
    database_ = "dbp_storage_test_" + std::to_string(getpid());

    ASSERT_NO_FATAL_FAILURE(Admin("CREATE DATABASE IF NOT EXISTS " + database_));
    pool_ = MakePool(4, 5000);
    ASSERT_NE(pool_, nullptr);
    ASSERT_NO_FATAL_FAILURE(Run(*pool_,
                                "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY,"
                                " txt VARCHAR(255) CHARACTER SET utf8mb4 NULL,"
                                " bin VARBINARY(255) NULL, big LONGBLOB NULL,"
                                " long_txt LONGTEXT CHARACTER SET utf8mb4 NULL)"));
  }

  void TearDown() override {
    if (pool_ != nullptr) {
      EXPECT_EQ(pool_->stats().in_use, 0u) << "a test leaked a connection";
      pool_.reset();
    }
    if (!database_.empty()) {
      Admin("DROP DATABASE IF EXISTS " + database_);
    }
  }

  std::unique_ptr<MysqlPool> MakePool(uint32_t size, uint32_t acquire_timeout_ms) {
    config::MysqlPoolConfig config = base_;
    config.database = database_;
    config.pool_size = size;
    config.acquire_timeout_ms = acquire_timeout_ms;
    auto pool = MysqlPool::Create(config);
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    return pool.ok() ? std::move(pool).value() : nullptr;
  }

  // Runs sql on a connection of the server without a default database.
  void Admin(const std::string& sql) {
    MysqlConnection admin(base_, base_.password, nullptr);
    Status status = admin.Execute(sql, nullptr, 0, nullptr);
    ASSERT_TRUE(status.ok()) << sql << ": " << status.ToString();
  }

  // Runs sql on conn, expecting success.
  static std::unique_ptr<MysqlResultSet> On(MysqlConnection* conn, std::string_view sql,
                                            std::vector<dbp_value_t> params = {}) {
    std::unique_ptr<MysqlResultSet> result;
    Status status = conn->Execute(sql, params.data(), params.size(), &result);
    EXPECT_TRUE(status.ok()) << sql << ": " << status.ToString();
    return result;
  }

  // Runs sql on a connection borrowed from pool and returns its result.
  std::unique_ptr<MysqlResultSet> Run(MysqlPool& pool, std::string_view sql,
                                      std::vector<dbp_value_t> params = {}) {
    Lease conn(pool);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? On(conn.get(), sql, std::move(params)) : nullptr;
  }

  size_t CountRows() {
    auto r = Run(*pool_, "SELECT COUNT(*) FROM t");
    return r == nullptr ? 0 : std::stoul(CellText(*r, 0, 0));
  }

  // Waits (bounded) until the server no longer lists session id.
  void WaitUntilSessionGone(uint64_t id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Run(*pool_, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
                   {Int(static_cast<int64_t>(id))});
      if (r != nullptr && CellText(*r, 0, 0) == "0") {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "session " << id << " still listed 10 s after KILL";
  }

  config::MysqlPoolConfig base_;
  std::string database_;
  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(MysqlPoolTest, RoundTripsAwkwardBytesThroughParameters) {
  using namespace std::string_literals;
  const std::string text = "it's \"quoted\" \\ back%slash_ \xF0\x9F\x98\x80 nul:\0:end"s;
  const std::string binary = "\0\x01\xFF'\\%\0"s;
  auto inserted =
      Run(*pool_, "INSERT INTO t (txt, bin) VALUES (?, ?)", {Bytes(text), Bytes(binary)});
  ASSERT_NE(inserted, nullptr);

  auto r = Run(*pool_, "SELECT txt, bin, CHAR_LENGTH(txt) FROM t WHERE txt = ?", {Bytes(text)});
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(CellText(*r, 0, 0), text);
  EXPECT_EQ(CellText(*r, 0, 1), binary);
  // The emoji is one 4-byte character: stored as utf8mb4, not mangled into '?'.
  EXPECT_EQ(CellText(*r, 0, 2), std::to_string(text.size() - 3));
}

TEST_F(MysqlPoolTest, KeepsNullDistinctFromEmptyString) {
  (void)Run(*pool_, "INSERT INTO t (txt) VALUES (?), (?)", {Null(), Bytes("")});
  auto r = Run(*pool_, "SELECT txt FROM t ORDER BY id");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->rows(), 2u);
  const char* data = "not touched";
  size_t len = 99;
  EXPECT_FALSE(r->Cell(0, 0, &data, &len));
  EXPECT_EQ(data, nullptr);
  EXPECT_EQ(len, 0u);
  EXPECT_TRUE(r->Cell(1, 0, &data, &len));
  EXPECT_NE(data, nullptr);
  EXPECT_EQ(len, 0u);
  EXPECT_FALSE(r->Cell(2, 0, &data, &len)) << "out of range";
}

TEST_F(MysqlPoolTest, DeliversNumbersAsDecimalText) {
  dbp_value_t big{};
  big.type = DBP_VALUE_UINT64;
  big.u64 = 18446744073709551615ull;
  dbp_value_t half{};
  half.type = DBP_VALUE_DOUBLE;
  half.f64 = 1.5;
  auto r = Run(*pool_, "SELECT ?, ?, ?, CAST(? AS SIGNED)", {Int(-42), big, half, Bytes("7")});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(CellText(*r, 0, 0), "-42");
  EXPECT_EQ(CellText(*r, 0, 1), "18446744073709551615");
  EXPECT_EQ(CellText(*r, 0, 2), "1.5");
  EXPECT_EQ(CellText(*r, 0, 3), "7");
}

TEST_F(MysqlPoolTest, CountsMatchedRowsWhenUpdateChangesNothing) {
  (void)Run(*pool_, "INSERT INTO t (txt) VALUES ('same')");
  auto same = Run(*pool_, "UPDATE t SET txt = ? WHERE txt = ?", {Bytes("same"), Bytes("same")});
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->affected(), 1u) << "CLIENT_FOUND_ROWS: an identical UPDATE still matches";
  auto none = Run(*pool_, "UPDATE t SET txt = 'x' WHERE id = ?", {Int(999999)});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->affected(), 0u);
}

TEST_F(MysqlPoolTest, ReportsInsertIdOfAutoIncrement) {
  auto first = Run(*pool_, "INSERT INTO t (txt) VALUES ('a')");
  auto second = Run(*pool_, "INSERT INTO t (txt) VALUES ('b')");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_GT(first->insert_id(), 0u);
  EXPECT_EQ(second->insert_id(), first->insert_id() + 1);
  EXPECT_EQ(first->affected(), 1u);
}

TEST_F(MysqlPoolTest, CommitKeepsAndRollbackDiscardsWrites) {
  Lease conn(*pool_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(conn->Begin().ok());
  EXPECT_TRUE(conn->in_transaction());
  (void)On(conn.get(), "INSERT INTO t (txt) VALUES ('kept')");
  ASSERT_TRUE(conn->Commit().ok());
  ASSERT_TRUE(conn->Begin().ok());
  (void)On(conn.get(), "INSERT INTO t (txt) VALUES ('discarded')");
  ASSERT_TRUE(conn->Rollback().ok());
  EXPECT_FALSE(conn->in_transaction());
  EXPECT_EQ(conn->Commit().code(), DBP_E_STATE) << "commit without a transaction";
  conn.Return();

  auto r = Run(*pool_, "SELECT txt FROM t");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(CellText(*r, 0, 0), "kept");
}

TEST_F(MysqlPoolTest, ReleaseRollsBackAnOpenTransaction) {
  auto single = MakePool(1, 5000);
  Lease conn(*single);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(conn->Begin().ok());
  (void)On(conn.get(), "INSERT INTO t (txt) VALUES ('abandoned')");
  const MysqlConnection* first_conn = conn.get();
  conn.Return();

  Lease again(*single);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again.get(), first_conn) << "the same connection comes back, without the transaction";
  EXPECT_FALSE(again->in_transaction());
  auto r = On(again.get(), "SELECT COUNT(*) FROM t");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(CellText(*r, 0, 0), "0");
  again.Return();
}

TEST_F(MysqlPoolTest, AcquireTimesOutWhenPoolIsExhausted) {
  auto single = MakePool(1, 100);
  Lease held(*single);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  auto second = single->Acquire();
  EXPECT_EQ(second.status().code(), DBP_E_TIMEOUT);
  MysqlPool::Stats stats = single->stats();
  EXPECT_EQ(stats.size, 1u);
  EXPECT_EQ(stats.in_use, 1u);
  EXPECT_EQ(stats.waits, 1u);
  EXPECT_EQ(stats.timeouts, 1u);
  held.Return();
  EXPECT_EQ(single->stats().in_use, 0u);
}

TEST_F(MysqlPoolTest, ReconnectsAfterServerKillsIdleConnection) {
  Lease victim(*pool_);
  ASSERT_TRUE(victim.ok()) << victim.status().ToString();
  (void)On(victim.get(), "SELECT 1");  // cache a statement on the session about to die
  const uint64_t old_id = victim->connection_id();
  ASSERT_NE(old_id, 0u);
  (void)Run(*pool_, "KILL CONNECTION " + std::to_string(old_id));
  ASSERT_NO_FATAL_FAILURE(WaitUntilSessionGone(old_id));

  auto r = On(victim.get(), "SELECT 1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(CellText(*r, 0, 0), "1");
  EXPECT_NE(victim->connection_id(), old_id);
  victim.Return();
}

TEST_F(MysqlPoolTest, ReportsLossInsideTransactionInsteadOfReconnecting) {
  Lease victim(*pool_);
  ASSERT_TRUE(victim.ok()) << victim.status().ToString();
  ASSERT_TRUE(victim->Begin().ok());
  (void)On(victim.get(), "INSERT INTO t (txt) VALUES ('lost')");
  const uint64_t old_id = victim->connection_id();
  (void)Run(*pool_, "KILL CONNECTION " + std::to_string(old_id));
  ASSERT_NO_FATAL_FAILURE(WaitUntilSessionGone(old_id));

  Status status = victim->Execute("INSERT INTO t (txt) VALUES ('after')", nullptr, 0, nullptr);
  EXPECT_EQ(status.code(), DBP_E_UNAVAILABLE) << status.ToString();
  EXPECT_EQ(victim->Commit().code(), DBP_E_UNAVAILABLE);
  (void)On(victim.get(), "SELECT 1");  // outside a transaction again: reconnects
  victim.Return();
  EXPECT_EQ(CountRows(), 0u);
}

TEST_F(MysqlPoolTest, RefusesStatementsAfterTransactionAbortedByLockWait) {
  (void)Run(*pool_, "INSERT INTO t (id, txt) VALUES (1, 'a'), (2, 'b')");
  Lease holder(*pool_);
  Lease waiter(*pool_);
  ASSERT_TRUE(holder.ok() && waiter.ok());
  ASSERT_TRUE(holder->Begin().ok());
  (void)On(holder.get(), "UPDATE t SET txt = 'held' WHERE id = 1");
  (void)On(waiter.get(), "SET SESSION innodb_lock_wait_timeout = 1");
  ASSERT_TRUE(waiter->Begin().ok());
  (void)On(waiter.get(), "UPDATE t SET txt = 'first' WHERE id = 2");
  Status blocked = waiter->Execute("UPDATE t SET txt = 'x' WHERE id = 1", nullptr, 0, nullptr);
  EXPECT_EQ(blocked.code(), DBP_E_MYSQL);
  EXPECT_EQ(waiter->last_errno(), 1205u);  // ER_LOCK_WAIT_TIMEOUT

  Status later = waiter->Execute("UPDATE t SET txt = 'later' WHERE id = 2", nullptr, 0, nullptr);
  EXPECT_EQ(later.code(), DBP_E_MYSQL) << "refused: the transaction is already broken";
  EXPECT_EQ(waiter->last_errno(), 1205u);
  EXPECT_EQ(waiter->Commit().code(), DBP_E_MYSQL) << "an aborted transaction never commits";
  ASSERT_TRUE(holder->Rollback().ok());
  waiter.Return();
  holder.Return();

  auto r = Run(*pool_, "SELECT txt FROM t ORDER BY id");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(CellText(*r, 0, 0), "a");
  EXPECT_EQ(CellText(*r, 1, 0), "b") << "the write before the failure was not committed";
}

TEST_F(MysqlPoolTest, ReusesPreparedStatementsPerConnection) {
  Lease conn(*pool_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  const char* kCounter = "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'";
  auto before = On(conn.get(), kCounter);  // prepares kCounter itself
  const size_t cached_before = conn->cached_statements();
  for (int i = 0; i < 3; ++i) {
    (void)On(conn.get(), "SELECT txt FROM t WHERE id = ?", {Int(i)});
  }
  auto after = On(conn.get(), kCounter);
  ASSERT_NE(before, nullptr);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(std::stoi(CellText(*after, 0, 1)) - std::stoi(CellText(*before, 0, 1)), 1)
      << "three executions, one prepare";
  EXPECT_EQ(conn->cached_statements(), cached_before + 1);
  conn.Return();
}

TEST_F(MysqlPoolTest, BoundsTheStatementCache) {
  Lease conn(*pool_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  for (size_t i = 0; i < MysqlConnection::kMaxCachedStatements + 20; ++i) {
    auto r = On(conn.get(), "SELECT " + std::to_string(i));
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(CellText(*r, 0, 0), std::to_string(i));
  }
  EXPECT_EQ(conn->cached_statements(), MysqlConnection::kMaxCachedStatements);
  auto r = On(conn.get(), "SELECT 0");  // evicted long ago: prepared again
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(CellText(*r, 0, 0), "0");
  conn.Return();
}

TEST_F(MysqlPoolTest, FetchesLongColumnsWhole) {
  std::string long_text;
  for (int i = 0; long_text.size() < 200 * 1024; ++i) {
    long_text += "line " + std::to_string(i) + " \xF0\x9F\x98\x80\n";
  }
  std::string blob(100 * 1024, '\0');
  for (size_t i = 0; i < blob.size(); ++i) {
    blob[i] = static_cast<char>(i * 7);
  }
  (void)Run(*pool_, "INSERT INTO t (txt, long_txt, big) VALUES (?, ?, ?), ('short', 'x', NULL)",
            {Bytes("first"), Bytes(long_text), Bytes(blob)});
  auto r = Run(*pool_, "SELECT txt, long_txt, big FROM t ORDER BY id");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->rows(), 2u);
  EXPECT_EQ(CellText(*r, 0, 0), "first");
  EXPECT_TRUE(CellText(*r, 0, 1) == long_text) << "long text differs";
  EXPECT_TRUE(CellText(*r, 0, 2) == blob) << "blob differs";
  EXPECT_EQ(CellText(*r, 1, 0), "short");
  EXPECT_EQ(CellText(*r, 1, 1), "x");
  EXPECT_EQ(CellText(*r, 1, 2), "<NULL>");
}

TEST_F(MysqlPoolTest, ServerErrorsKeepTheConnectionUsable) {
  Lease conn(*pool_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  (void)On(conn.get(), "INSERT INTO t (id, txt) VALUES (1, 'a')");
  Status dup = conn->Execute("INSERT INTO t (id, txt) VALUES (1, 'b')", nullptr, 0, nullptr);
  EXPECT_EQ(dup.code(), DBP_E_MYSQL);
  EXPECT_EQ(conn->last_errno(), 1062u);  // ER_DUP_ENTRY
  EXPECT_NE(conn->last_error().find("Duplicate"), std::string::npos);
  Status syntax = conn->Execute("SELEC nonsense", nullptr, 0, nullptr);
  EXPECT_EQ(syntax.code(), DBP_E_MYSQL);
  const dbp_value_t one = Int(1);
  Status count = conn->Execute("SELECT 1", &one, 1, nullptr);
  EXPECT_EQ(count.code(), DBP_E_INVALID) << "placeholder count mismatch";
  EXPECT_FALSE(conn->broken());
  (void)On(conn.get(), "SELECT 1");
  conn.Return();
  EXPECT_EQ(pool_->stats().size, 1u) << "not dropped for a statement error";
}

TEST_F(MysqlPoolTest, ManyThreadsShareASmallPool) {
  auto small = MakePool(3, 10000);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&small, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        Lease conn(*small);
        std::unique_ptr<MysqlResultSet> r;
        const dbp_value_t v = Int(t * 1000 + i);
        if (!conn.ok() || !conn->Execute("SELECT ?", &v, 1, &r).ok() ||
            CellText(*r, 0, 0) != std::to_string(t * 1000 + i)) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  MysqlPool::Stats stats = small->stats();
  EXPECT_LE(stats.size, 3u);
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.timeouts, 0u);
}

TEST_F(MysqlPoolTest, UnreachableServerFailsFastWithUnavailable) {
  config::MysqlPoolConfig config = base_;
  config.port = UnusedPort();
  auto down = MysqlPool::Create(config);
  ASSERT_TRUE(down.ok()) << "creating a pool never needs the server";
  auto first = (*down)->Acquire();
  EXPECT_EQ(first.status().code(), DBP_E_UNAVAILABLE) << first.status().ToString();
  auto second = (*down)->Acquire();
  EXPECT_EQ(second.status().code(), DBP_E_UNAVAILABLE);
  EXPECT_NE(second.status().message().find("last connect failed"), std::string::npos)
      << "within the retry window no connect is attempted: " << second.status().ToString();
  MysqlPool::Stats stats = (*down)->stats();
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_GE(stats.errors, 1u);
}

}  // namespace
}  // namespace dbproxy::storage
