// Who may connect, over real sockets against a real dbproxyd (test_echo module):
// server.allow admits or closes TCP peers at accept (IPv4 and IPv6 loopback addresses, the
// listener defaults, SIGHUP changes, config errors), and the admin socket's file mode,
// group and SO_PEERCRED check (clients that drop to an unprivileged uid in a forked child).

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_database.h"
#include "tests/support/test_redis.h"
#include "tests/support/wire_client.h"

namespace dbproxy::testing {
namespace {

constexpr uint16_t kService = 7;
constexpr uint16_t kEcho = 0x7001;
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

template <typename Pred>
bool WaitFor(Pred pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// A TCP connection from source (an IPv4 or IPv6 literal) to destination:port, made with
// the source address bound explicitly so the daemon sees exactly that peer.
WireClient ConnectFrom(const std::string& source, const std::string& destination, uint16_t port) {
  sockaddr_storage from{};
  sockaddr_storage to{};
  socklen_t len = 0;
  int family = source.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (family == AF_INET) {
    auto* f = reinterpret_cast<sockaddr_in*>(&from);
    auto* t = reinterpret_cast<sockaddr_in*>(&to);
    f->sin_family = t->sin_family = AF_INET;
    EXPECT_EQ(1, inet_pton(AF_INET, source.c_str(), &f->sin_addr));
    EXPECT_EQ(1, inet_pton(AF_INET, destination.c_str(), &t->sin_addr));
    t->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else {
    auto* f = reinterpret_cast<sockaddr_in6*>(&from);
    auto* t = reinterpret_cast<sockaddr_in6*>(&to);
    f->sin6_family = t->sin6_family = AF_INET6;
    EXPECT_EQ(1, inet_pton(AF_INET6, source.c_str(), &f->sin6_addr));
    EXPECT_EQ(1, inet_pton(AF_INET6, destination.c_str(), &t->sin6_addr));
    t->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(0, bind(fd, reinterpret_cast<sockaddr*>(&from), len))
      << "bind " << source << ": " << std::strerror(errno);
  EXPECT_EQ(0, connect(fd, reinterpret_cast<sockaddr*>(&to), len))
      << "connect " << destination << ":" << port << ": " << std::strerror(errno);
  return WireClient(fd);
}

// True if this machine has an IPv6 loopback address to listen on.
bool HaveIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// The value of an unlabelled series on the metrics page; -1 if absent.
int64_t Metric(uint16_t metrics_port, const std::string& name) {
  const std::string page = HttpGet(metrics_port, "/metrics");
  const std::string line = "\n" + name + " ";
  size_t at = page.find(line);
  return at == std::string::npos ? -1 : std::strtoll(page.c_str() + at + line.size(), nullptr, 10);
}

// True once the daemon's log (flushed at least every second) contains text.
bool LogHas(const DaemonProcess& daemon, const std::string& text) {
  return WaitFor([&] { return daemon.ReadLog().find(text) != std::string::npos; }, 3000);
}

// Asserts that a refused connection is closed by the daemon without a single byte.
void ExpectClosedWithoutAnswer(WireClient& client, const std::string& who) {
  (void)client.SendFrame(kService, kEcho, 1, "anyone there?", 1000);  // may fail: closed
  EXPECT_TRUE(client.IsClosed(5000)) << who << ": connection was not closed";
  EXPECT_FALSE(client.ReadFrame(0)) << who << ": the daemon answered a refused peer";
}

class AccessControlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = TestDatabase::Create().release();
    redis_ = TestRedis::Create().release();
  }
  static void TearDownTestSuite() {
    delete db_;
    delete redis_;
  }

  DaemonOptions Options() {
    DaemonOptions o;
    o.plugins = {"test_echo"};
    o.plugin_dir = DBPROXY_TEST_PLUGIN_DIR;
    o.workers = 2;
    return o;
  }

  static TestDatabase* db_;
  static TestRedis* redis_;
  DaemonProcess daemon_;
};

TestDatabase* AccessControlTest::db_ = nullptr;
TestRedis* AccessControlTest::redis_ = nullptr;

TEST_F(AccessControlTest, AllowListServesAdmittedPeersAndClosesOthersAtAccept) {
  const bool v6 = HaveIpv6Loopback();
  DaemonOptions o = Options();
  o.listen = {"127.0.0.1:0", "127.0.0.2:0"};
  if (v6) {
    o.listen.push_back("[::1]:0");
  }
  o.server_overrides = "allow: [\"127.0.0.1\", \"::1/128\"]\n";
  ASSERT_TRUE(daemon_.Start(*db_, *redis_, o));
  ASSERT_EQ(o.listen.size(), daemon_.ports().size());
  const uint16_t port1 = daemon_.ports()[0];
  const uint16_t port2 = daemon_.ports()[1];

  WireClient admitted = ConnectFrom("127.0.0.1", "127.0.0.1", port1);
  auto answer = admitted.Call(kService, kEcho, "hello");
  ASSERT_TRUE(answer) << "127.0.0.1 is in server.allow but got no answer";
  EXPECT_EQ("hello", answer->body);

  // Refused on the other listener, and on the same listener as the admitted peer: the
  // check is on the peer, not on the address it dialled.
  WireClient other_listener = ConnectFrom("127.0.0.2", "127.0.0.2", port2);
  ExpectClosedWithoutAnswer(other_listener, "127.0.0.2 -> 127.0.0.2");
  WireClient same_listener = ConnectFrom("127.0.0.2", "127.0.0.1", port1);
  ExpectClosedWithoutAnswer(same_listener, "127.0.0.2 -> 127.0.0.1");

  if (v6) {
    WireClient ipv6 = ConnectFrom("::1", "::1", daemon_.ports()[2]);
    auto v6_answer = ipv6.Call(kService, kEcho, "over ipv6");
    ASSERT_TRUE(v6_answer) << "::1 is in server.allow but got no answer";
    EXPECT_EQ("over ipv6", v6_answer->body);
  }

  // The admitted connection was never disturbed.
  auto again = admitted.Call(kService, kEcho, "still here");
  ASSERT_TRUE(again);
  EXPECT_EQ("still here", again->body);

  EXPECT_TRUE(WaitFor(
      [&] { return Metric(daemon_.metrics_port(), "dbproxy_connections_denied_total") == 2; },
      5000))
      << "dbproxy_connections_denied_total = "
      << Metric(daemon_.metrics_port(), "dbproxy_connections_denied_total");
  EXPECT_EQ(v6 ? 2 : 1, Metric(daemon_.metrics_port(), "dbproxy_connections_accepted_total"));
  EXPECT_TRUE(LogHas(daemon_, "refused peer 127.0.0.2:")) << daemon_.ReadLog();
  EXPECT_TRUE(LogHas(daemon_, "not in server.allow; closed at accept")) << daemon_.ReadLog();
  EXPECT_TRUE(LogHas(daemon_, "admits 127.0.0.1/32, ::1/128 (server.allow)")) << daemon_.ReadLog();
}

TEST_F(AccessControlTest, LoopbackListenerWithoutAllowListAdmitsLoopbackPeers) {
  ASSERT_TRUE(daemon_.Start(*db_, *redis_, Options()));
  WireClient from_other_loopback = ConnectFrom("127.0.0.2", "127.0.0.1", daemon_.port());
  auto answer = from_other_loopback.Call(kService, kEcho, "default");
  ASSERT_TRUE(answer);
  EXPECT_EQ("default", answer->body);
  EXPECT_EQ(0, Metric(daemon_.metrics_port(), "dbproxy_connections_denied_total"));
  EXPECT_TRUE(
      LogHas(daemon_, "admits 127.0.0.0/8, ::1/128 (loopback listener, server.allow not set)"))
      << daemon_.ReadLog();
  EXPECT_EQ(std::string::npos, daemon_.ReadLog().find("EVERY peer")) << daemon_.ReadLog();
}

TEST_F(AccessControlTest, SighupChangesTheListAndClosesConnectionsItNoLongerAdmits) {
  DaemonOptions o = Options();
  o.server_overrides = "allow: [\"127.0.0.0/8\"]\n";
  ASSERT_TRUE(daemon_.Start(*db_, *redis_, o));
  WireClient one = ConnectFrom("127.0.0.1", "127.0.0.1", daemon_.port());
  WireClient two = ConnectFrom("127.0.0.2", "127.0.0.1", daemon_.port());
  ASSERT_TRUE(one.Call(kService, kEcho, "1"));
  ASSERT_TRUE(two.Call(kService, kEcho, "2"));

  o.server_overrides = "allow:\n  - 127.0.0.1/32\n";
  daemon_.RewriteConfig(o);
  daemon_.Signal(SIGHUP);
  EXPECT_TRUE(two.IsClosed(5000)) << "127.0.0.2 stayed connected after it was removed";
  auto still = one.Call(kService, kEcho, "kept");
  ASSERT_TRUE(still) << "127.0.0.1 is still allowed but lost its connection";
  EXPECT_EQ("kept", still->body);
  WireClient newcomer = ConnectFrom("127.0.0.2", "127.0.0.1", daemon_.port());
  ExpectClosedWithoutAnswer(newcomer, "127.0.0.2 after the reload");
  EXPECT_TRUE(WaitFor(
      [&] { return Metric(daemon_.metrics_port(), "dbproxy_connections_denied_total") == 2; },
      5000));

  // A broken list is refused as a whole: the running one stays.
  o.server_overrides = "allow: [\"127.0.0.1/32\", \"127.0.0.2/33\"]\n";
  daemon_.RewriteConfig(o);
  daemon_.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] { return daemon_.ReadLog().find("reload refused: ") != std::string::npos; }, 5000));
  EXPECT_NE(std::string::npos,
            daemon_.ReadLog().find("server.allow: '127.0.0.2/33': the prefix length must be"));
  WireClient still_refused = ConnectFrom("127.0.0.2", "127.0.0.1", daemon_.port());
  ExpectClosedWithoutAnswer(still_refused, "127.0.0.2 after a refused reload");
  ASSERT_TRUE(one.Call(kService, kEcho, "after bad reload"));

  // Removing the key returns to the listener default, loopback for 127.0.0.1.
  o.server_overrides.clear();
  daemon_.RewriteConfig(o);
  daemon_.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] { return daemon_.ReadLog().find("server.allow is now unset") != std::string::npos; },
      5000));
  WireClient welcome_back = ConnectFrom("127.0.0.2", "127.0.0.1", daemon_.port());
  ASSERT_TRUE(welcome_back.Call(kService, kEcho, "back"));
}

TEST_F(AccessControlTest, BadAllowEntryStopsStartupWithFileAndLine) {
  DaemonOptions o = Options();
  o.server_overrides = "allow:\n  - 10.0.0.0/8\n  - 10.1.2.3/16\n";
  // Line 1 is the harness comment, 2 server:, 3 listen, 4 workers, 5 allow:, 6 and 7 items.
  ExpectStartupRefused(*db_, *redis_, o,
                       "dbproxyd.yaml:7: server.allow: '10.1.2.3/16' has host bits set below "
                       "the prefix (did you mean 10.1.0.0/16?)");
  o.server_overrides = "allow: []\n";
  ExpectStartupRefused(*db_, *redis_, o, "server.allow: an empty list would refuse every peer");
}

// ---- Admin socket ----------------------------------------------------------------------

struct AdminAnswer {
  int connect_errno = 0;  // non-zero: connect() failed with this errno
  std::string text;       // the daemon's answer
  std::string failure;    // the child could not even try (setuid failed, timeout, ...)
};

// Forks a child that takes uid, gid and supplementary groups, connects to the admin socket
// at path, sends line and reads the answer. Bounded: the child has 10 s (alarm).
AdminAnswer AskAs(const std::string& path, uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                  const std::string& line) {
  AdminAnswer result;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  const std::string request = line + "\n";
  int report[2];
  if (pipe(report) != 0) {
    result.failure = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t child = fork();
  if (child == 0) {
    // Only async-signal-safe calls from here on: the parent has threads.
    close(report[0]);
    alarm(10);
    char tag = 'E';
    if (setgroups(groups.size(), groups.data()) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
      (void)!write(report[1], &tag, 1);
      _exit(1);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      int err = errno;
      tag = 'C';
      (void)!write(report[1], &tag, 1);
      (void)!write(report[1], &err, sizeof(err));
      _exit(0);
    }
    tag = 'A';
    (void)!write(report[1], &tag, 1);
    (void)!write(fd, request.data(), request.size());
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
      (void)!write(report[1], buf, static_cast<size_t>(n));
    }
    _exit(0);
  }
  close(report[1]);
  if (child < 0) {
    close(report[0]);
    result.failure = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  std::string got;
  char buf[4096];
  pollfd p{report[0], POLLIN, 0};
  while (poll(&p, 1, 15000) > 0) {
    ssize_t n = read(report[0], buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  close(report[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (got.empty() || got[0] == 'E') {
    result.failure = "the child could not take uid " + std::to_string(uid) + " or report";
  } else if (got[0] == 'C' && got.size() >= 1 + sizeof(int)) {
    std::memcpy(&result.connect_errno, got.data() + 1, sizeof(int));
  } else {
    result.text = got.substr(1);
  }
  return result;
}

class AdminSocketTest : public AccessControlTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, geteuid()) << "the admin socket tests change uid: run them as root "
                                "(tools/test does)";
    group* users = getgrnam("users");
    ASSERT_NE(nullptr, users) << "Debian's 'users' group (gid 100) is missing";
    users_gid_ = users->gr_gid;
    DaemonOptions o = Options();
    o.admin_overrides = "socket_group: users\n";
    ASSERT_TRUE(daemon_.Start(*db_, *redis_, o));
    // The temp dir is 0700; an unprivileged client must reach the socket inside it.
    ASSERT_EQ(0, chmod(daemon_.dir().c_str(), 0755));
  }
  gid_t users_gid_ = 0;
};

TEST_F(AdminSocketTest, SocketFileIsMode0660AndOwnedByTheAdminGroup) {
  struct stat st {};
  ASSERT_EQ(0, stat(daemon_.admin_socket().c_str(), &st)) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(0660u, st.st_mode & 07777) << std::oct << (st.st_mode & 07777);
  EXPECT_EQ(users_gid_, st.st_gid);
  EXPECT_TRUE(LogHas(
      daemon_, "open to root, uid 0 and group users (gid " + std::to_string(users_gid_) + ")"))
      << daemon_.ReadLog();
}

TEST_F(AdminSocketTest, RootAndGroupMembersAreServed) {
  AdminAnswer root = AskAs(daemon_.admin_socket(), 0, 0, {0}, "status");
  ASSERT_EQ("", root.failure);
  EXPECT_EQ(0, root.connect_errno) << std::strerror(root.connect_errno);
  EXPECT_EQ(0u, root.text.rfind("{\"ok\":true,\"status\":", 0)) << root.text;

  AdminAnswer supplementary =
      AskAs(daemon_.admin_socket(), kNobody, kNogroup, {users_gid_}, "status");
  ASSERT_EQ("", supplementary.failure);
  EXPECT_EQ(0, supplementary.connect_errno) << std::strerror(supplementary.connect_errno);
  EXPECT_EQ(0u, supplementary.text.rfind("{\"ok\":true,", 0)) << supplementary.text;

  AdminAnswer primary = AskAs(daemon_.admin_socket(), kNobody, users_gid_, {}, "modules");
  ASSERT_EQ("", primary.failure);
  EXPECT_EQ(0u, primary.text.rfind("{\"ok\":true,\"modules\":", 0)) << primary.text;
  EXPECT_EQ(0, Metric(daemon_.metrics_port(), "dbproxy_admin_denied_total"));
}

TEST_F(AdminSocketTest, OutsiderIsStoppedByTheFileModeAndByThePeerCheck) {
  const int64_t reloads_before = Metric(daemon_.metrics_port(), "dbproxy_reloads_total");
  // The file mode stops an outsider at connect().
  AdminAnswer blocked = AskAs(daemon_.admin_socket(), kNobody, kNogroup, {}, "status");
  ASSERT_EQ("", blocked.failure);
  EXPECT_EQ(EACCES, blocked.connect_errno) << blocked.text;

  // Even with the file opened to everyone (a careless chmod), SO_PEERCRED refuses them.
  ASSERT_EQ(0, chmod(daemon_.admin_socket().c_str(), 0666));
  AdminAnswer refused = AskAs(daemon_.admin_socket(), kNobody, kNogroup, {}, "reload");
  ASSERT_EQ("", refused.failure);
  ASSERT_EQ(0, refused.connect_errno) << std::strerror(refused.connect_errno);
  EXPECT_EQ(
      "{\"ok\":false,\"error\":\"permission denied: uid 65534 (gid 65534) is not root, not the "
      "daemon's user (uid 0) and not in group users (gid " +
          std::to_string(users_gid_) + "); see admin.socket_group\"}\n",
      refused.text);
  EXPECT_EQ(1, Metric(daemon_.metrics_port(), "dbproxy_admin_denied_total"));
  EXPECT_TRUE(LogHas(daemon_, "admin socket: refused pid ")) << daemon_.ReadLog();
  EXPECT_TRUE(LogHas(daemon_, "uid 65534 (gid 65534) is not root")) << daemon_.ReadLog();
  // Refused means not run: no reload happened (start-up counts as the first).
  EXPECT_EQ(reloads_before, Metric(daemon_.metrics_port(), "dbproxy_reloads_total"));
}

TEST_F(AccessControlTest, MissingExplicitAdminGroupStopsStartup) {
  DaemonOptions o = Options();
  o.admin_overrides = "socket_group: dbproxy-no-such-group\n";
  ExpectStartupRefused(*db_, *redis_, o,
                       "admin.socket_group: group 'dbproxy-no-such-group' does not exist");
}

}  // namespace
}  // namespace dbproxy::testing
