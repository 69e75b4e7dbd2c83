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
  uint32_t heartbeat_interval_ms = 5000;  // send a heartbeat after this much silence
  uint32_t idle_timeout_ms = 30000;       // close after this long without input
  uint32_t shutdown_deadline_ms = 4000;   // SIGTERM: in-flight work gets this long
  // Peers that may connect, as CIDR blocks (validated by the loader, see net/allow_list.h).
  // Absent: a loopback listener admits loopback peers only, any other listener admits
  // every peer and start-up warns about it. Present: every listener admits exactly these.
  std::optional<std::vector<std::string>> allow;
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
