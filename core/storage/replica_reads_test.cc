// Commit GTIDs captured by a tracking pool, and ReplicaReads' choices, against a real
// MariaDB with a binlog (a PrivateMariadb: the shared tools/test server has none). The
// replication itself is tested end to end in tests/cluster/replica_test.cc; here the
// "replica" is either the primary itself, whose gtid_slave_pos never reaches its own
// commits (so every wait times out, deterministically), or a port nothing listens on.

#include "core/storage/replica_reads.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/storage/mysql_pool.h"
#include "tests/support/child_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/test_database.h"

namespace dbproxy::storage {
namespace {

using testing::PrivateMariadb;
using testing::TestDatabase;

class ReplicaReadsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = PrivateMariadb::Start({.extra_config = "server_id=7\nlog_bin=binlog\n"}).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { db_ = TestDatabase::Create(server_->env()); }

  config::MysqlPoolConfig PoolConfig(const std::string& name, uint16_t port) const {
    config::MysqlPoolConfig c;
    c.name = name;
    c.host = "127.0.0.1";
    c.port = port;
    c.user = server_->env().mysql_user;
    c.password = server_->env().mysql_password;
    c.database = db_->name();
    c.pool_size = 2;
    c.connect_timeout_ms = 1000;
    return c;
  }

  std::unique_ptr<MysqlPool> Pool(const std::string& name, uint16_t port) const {
    auto pool = MysqlPool::Create(PoolConfig(name, port));
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    return std::move(pool).value();
  }

  std::string BinlogPos() { return db_->QueryValue("SELECT @@gtid_binlog_pos").value_or(""); }

  static void Run(MysqlConnection* conn, const std::string& sql) {
    Status s = conn->Execute(sql, nullptr, 0, nullptr);
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }

  static PrivateMariadb* server_;
  std::unique_ptr<TestDatabase> db_;
};

PrivateMariadb* ReplicaReadsTest::server_ = nullptr;

TEST_F(ReplicaReadsTest, TrackingPoolHoldsTheGtidOfEveryCommitAndNothingElse) {
  std::unique_ptr<MysqlPool> primary = Pool("primary", server_->port());
  primary->TrackCommits();
  ASSERT_NE(primary->commits(), nullptr);
  Result<MysqlConnection*> conn = primary->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(primary->commits()->version(), 0u);

  Run(*conn, "CREATE TABLE rr (a INT PRIMARY KEY) ENGINE=InnoDB");
  Run(*conn, "INSERT INTO rr VALUES (1)");  // autocommit
  EXPECT_EQ(primary->commits()->Get().text, BinlogPos());
  const uint64_t after_autocommit = primary->commits()->version();
  EXPECT_GT(after_autocommit, 0u);

  ASSERT_TRUE((*conn)->Begin().ok());
  Run(*conn, "INSERT INTO rr VALUES (2)");
  EXPECT_EQ(primary->commits()->version(), after_autocommit);  // not committed yet
  ASSERT_TRUE((*conn)->Commit().ok());
  EXPECT_EQ(primary->commits()->Get().text, BinlogPos());
  const uint64_t after_commit = primary->commits()->version();
  EXPECT_GT(after_commit, after_autocommit);

  ASSERT_TRUE((*conn)->Begin().ok());
  Run(*conn, "INSERT INTO rr VALUES (3)");
  ASSERT_TRUE((*conn)->Rollback().ok());
  Run(*conn, "SELECT a FROM rr");
  EXPECT_EQ(primary->commits()->version(), after_commit);  // rollback and reads: no GTID

  // Another writer's commits are not this pool's: the position stays behind them.
  db_->Exec("INSERT INTO rr VALUES (4)");
  EXPECT_NE(primary->commits()->Get().text, BinlogPos());
  primary->Release(*conn);
  EXPECT_FALSE(primary->commits_untracked());
}

TEST_F(ReplicaReadsTest, ReadsGoToTheReplicaUntilItLagsThenToThePrimary) {
  std::unique_ptr<MysqlPool> primary = Pool("primary", server_->port());
  primary->TrackCommits();
  // A server never reaches its own commits in gtid_slave_pos: this "replica" always lags.
  std::unique_ptr<MysqlPool> replica = Pool("replica", server_->port());
  ReplicaReads reads(replica.get(), primary.get(), 20);

  // Nothing written yet: the replica serves, no wait.
  Result<ReplicaReads::Lease> lease = reads.Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->pool, replica.get());
  lease->pool->Release(lease->conn);
  EXPECT_EQ(reads.stats().waits, 0u);
  EXPECT_EQ(reads.stats().waits_skipped, 1u);

  Result<MysqlConnection*> writer = primary->Acquire();
  ASSERT_TRUE(writer.ok());
  Run(*writer, "CREATE TABLE lag (a INT) ENGINE=InnoDB");
  primary->Release(*writer);

  // One bounded wait that times out, then the primary.
  lease = reads.Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->pool, primary.get());
  lease->pool->Release(lease->conn);
  ReplicaReads::Stats s = reads.stats();
  EXPECT_EQ(s.waits, 1u);
  EXPECT_GE(s.wait_micros, 15000u);  // MASTER_GTID_WAIT waited (about) wait_ms
  EXPECT_EQ(s.fallback_lagging, 1u);

  // Within the backoff the next read does not wait again.
  lease = reads.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->pool, primary.get());
  lease->pool->Release(lease->conn);
  s = reads.stats();
  EXPECT_EQ(s.waits, 1u);
  EXPECT_EQ(s.fallback_lagging, 2u);
  EXPECT_EQ(s.primary_reads, 2u);
  EXPECT_EQ(s.replica_reads, 1u);
}

TEST_F(ReplicaReadsTest, EveryCommitScopeLearnsOtherWritersFromThePrimary) {
  std::unique_ptr<MysqlPool> primary = Pool("primary", server_->port());
  primary->TrackCommits();
  std::unique_ptr<MysqlPool> replica = Pool("replica", server_->port());
  ReplicaReads own(replica.get(), primary.get(), 20);
  ReplicaReads every(replica.get(), primary.get(), 20, true);
  db_->Exec("CREATE TABLE other (a INT) ENGINE=InnoDB");  // not through the pool
  // Only this process's commits: nothing to wait for, the replica serves.
  Result<ReplicaReads::Lease> lease = own.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->pool, replica.get());
  lease->pool->Release(lease->conn);
  // Every commit: the other writer's DDL is in the position, the "replica" never gets it.
  lease = every.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->pool, primary.get());
  lease->pool->Release(lease->conn);
  EXPECT_EQ(primary->commits()->Get().text, BinlogPos());
  EXPECT_EQ(every.stats().waits, 1u);
  EXPECT_EQ(every.stats().fallback_lagging, 1u);
}

TEST_F(ReplicaReadsTest, ReplicaDownFallsBackAtOnce) {
  std::unique_ptr<MysqlPool> primary = Pool("primary", server_->port());
  primary->TrackCommits();
  std::unique_ptr<MysqlPool> replica = Pool("replica", testing::PickFreeLoopbackPort());
  ReplicaReads reads(replica.get(), primary.get(), 50);
  for (int i = 0; i < 3; ++i) {
    Result<ReplicaReads::Lease> lease = reads.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    EXPECT_EQ(lease->pool, primary.get());
    lease->pool->Release(lease->conn);
  }
  EXPECT_EQ(reads.stats().fallback_down, 3u);
  EXPECT_EQ(reads.stats().waits, 0u);
}

}  // namespace
}  // namespace dbproxy::storage
