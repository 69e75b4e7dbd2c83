#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace dbproxy::config {

// Typed configuration of the daemon. Built by LoadConfig() (yaml_loader.h) from one YAML
// file; every field has the default shown here. Plain values: copy freely, any thread.

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 10600;
};

struct ServerConfig {
  std::vector<ListenAddress> listen = {ListenAddress{}};
  uint32_t workers = 16;
  uint32_t worker_queue_limit = 4096;                   // queued requests before reads pause
  uint32_t max_frame_bytes = 1024 * 1024;               // header included
  uint32_t max_output_buffer_bytes = 16 * 1024 * 1024;  // per connection, then close
  uint32_t max_connections = 20000;
  // Requests of one connection queued or running at once; past it that connection alone
  // stops being read, so one peer cannot fill the shared queue and stall the others.
  uint32_t max_inflight_per_connection = 1024;
  uint32_t heartbeat_interval_ms = 5000;  // send a heartbeat after this much silence
  uint32_t idle_timeout_ms = 30000;       // close after this long without input
  uint32_t shutdown_deadline_ms = 4000;   // SIGTERM: in-flight work gets this long
  // Close a connection whose frame (header included) stays incomplete this long even though
  // bytes trickle in, which idle_timeout_ms does not catch; 0 disables.
  uint32_t frame_timeout_ms = 10000;
  // Peers that may connect, as CIDR blocks (validated by the loader, see net/allow_list.h).
  // Absent: a loopback listener admits loopback peers only, any other listener admits
  // every peer and start-up warns about it. Present: every listener admits exactly these.
  std::optional<std::vector<std::string>> allow;
};

// TLS to one MySQL server. A pool with this block talks TLS only: a server that does not
// offer it, or a certificate that fails verification, is a failed connect, never a quiet
// fall back to plaintext. Paths are absolute (the loader resolves relative ones against
// the config file's directory) and were readable PEM files when the config was loaded.
struct MysqlTlsConfig {
  std::string ca;    // the server certificate must chain to it; checked whenever set
  std::string cert;  // client certificate, for users created REQUIRE X509 / SUBJECT
  std::string key;   // its private key; set exactly when cert is
  // Also check that the certificate names `host` (SAN DNS or IP) and, without a ca, that it
  // chains to the system's CA store. false without a ca: encrypted but not authenticated.
  bool verify_server_cert = true;
};

// Read-your-writes for a replica pool (mysql.<pool>.read_your_writes): before a read, the
// replica must have applied every commit this daemon saw on the primary pool, waiting at most
// wait_ms (MASTER_GTID_WAIT); otherwise the read goes to the primary pool.
struct ReadYourWritesConfig {
  bool enabled = false;  // the section is present
  std::string primary = "teamtalk_master";
  uint32_t wait_ms = 50;
  // "daemon": the commits this daemon made; "all": every commit on the primary, by any
  // writer (other dbproxyd processes too), at one more round trip to the primary per read.
  std::string scope = "daemon";
};

struct MysqlPoolConfig {
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string user = "root";
  std::string password;
  std::string password_env;  // if set, the password comes from this variable
  std::string database = "teamtalk";
  std::string unix_socket;  // optional; empty means TCP
  uint32_t pool_size = 16;
  uint32_t connect_timeout_ms = 2000;
  uint32_t read_timeout_ms = 5000;
  uint32_t write_timeout_ms = 5000;
  uint32_t acquire_timeout_ms = 2000;  // waiting for a free connection
  ReadYourWritesConfig read_your_writes;
  std::optional<MysqlTlsConfig> tls;  // absent: plaintext, as the original
};

// One host:port of a Redis Sentinel.
struct RedisAddress {
  std::string host;
  uint16_t port = 26379;
};

struct RedisConfig {
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  uint32_t db = 0;
  // Redis 6 ACL user: with a username the pool sends AUTH <username> <password>; without,
  // AUTH <password> (the "default" user).
  std::string username;
  std::string password;
  uint32_t pool_size = 16;
  uint32_t connect_timeout_ms = 1000;
  uint32_t command_timeout_ms = 2000;
  uint32_t acquire_timeout_ms = 2000;
  // Redis Sentinel: when sentinels is not empty, host and port are not used; the pool asks
  // the sentinels for master_name's master (storage/sentinel_resolver.h) and follows it.
  std::vector<RedisAddress> sentinels;
  std::string master_name;
  std::string sentinel_username;  // ACL user on the sentinels (with sentinel_password)
  std::string sentinel_password;
  uint32_t sentinel_timeout_ms = 300;  // connect and reply timeout per sentinel
  uint32_t sentinel_poll_ms = 1000;    // how often the master address is checked
};

struct PluginsConfig {
  std::string directory = "/usr/lib/dbproxy/plugins";
  std::string staging_directory = "/var/lib/dbproxy/plugins-staged";
  std::vector<std::string> enabled;
  // Per-module sections, kept as YAML so each module validates its own keys at init.
  std::map<std::string, YAML::Node> modules;
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: stderr
};

struct AdminConfig {
  std::string socket = "/run/dbproxy/dbproxy.sock";  // empty disables the admin socket
  // Besides root and the daemon's own user, members of this group may use the socket
  // (mode 0660, this group). If the default group does not exist only root and the daemon's
  // user may; a group named in the file must exist.
  std::string socket_group = "dbproxy";
  bool socket_group_explicit = false;  // socket_group came from the file
  std::string metrics_listen;          // "127.0.0.1:10601"; empty disables metrics
};

struct Config {
  std::string source_path;  // the file this came from
  ServerConfig server;
  std::map<std::string, MysqlPoolConfig> mysql;
  std::map<std::string, RedisConfig> redis;
  PluginsConfig plugins;
  LogConfig log;
  AdminConfig admin;
};

}  // namespace dbproxy::config
