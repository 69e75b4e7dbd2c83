#include "core/config/yaml_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/net/allow_list.h"

namespace dbproxy::config {
namespace {

// Carries the file name and turns a node plus a message into a positioned error.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& what) const {
    std::ostringstream out;
    out << source_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      out << ":" << node.Mark().line + 1;
    }
    out << ": " << path << ": " << what;
    return Status(DBP_E_CONFIG, out.str());
  }

  // Every key of map must be in allowed; otherwise the error names the closest one.
  Status CheckKeys(const YAML::Node& map, const std::string& path,
                   const std::vector<std::string>& allowed) const {
    if (!map.IsMap()) {
      return Error(map, path, "must be a mapping");
    }
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
        continue;
      }
      std::string hint = ClosestKey(key, allowed);
      return Error(kv.first, Join(path, key),
                   hint.empty() ? "unknown key" : "unknown key (did you mean '" + hint + "'?)");
    }
    return Status::Ok();
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  template <typename T>
  Status Unsigned(const YAML::Node& map, const std::string& path, const char* key, T* out,
                  uint64_t min = 0) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) {
      return Status::Ok();
    }
    uint64_t v = 0;
    if (!n.IsScalar() || !ParseUnsigned(n.Scalar(), &v) || v > std::numeric_limits<T>::max()) {
      return Error(n, Join(path, key),
                   "must be an integer from " + std::to_string(min) + " to " +
                       std::to_string(std::numeric_limits<T>::max()));
    }
    if (v < min) {
      return Error(n, Join(path, key), "must be at least " + std::to_string(min));
    }
    *out = static_cast<T>(v);
    return Status::Ok();
  }

  Status String(const YAML::Node& map, const std::string& path, const char* key,
                std::string* out) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) {
      return Status::Ok();
    }
    if (!n.IsScalar()) {
      return Error(n, Join(path, key), "must be a string");
    }
    *out = n.Scalar();
    return Status::Ok();
  }

  Status Bool(const YAML::Node& map, const std::string& path, const char* key, bool* out) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) {
      return Status::Ok();
    }
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      return Error(n, Join(path, key), "must be true or false");
    }
    *out = v;
    return Status::Ok();
  }

  // The directory of the file being read ("" if it has none), for relative paths in it.
  std::string Directory() const {
    size_t slash = source_.rfind('/');
    return slash == std::string::npos ? "" : source_.substr(0, slash + 1);
  }

  Status StringList(const YAML::Node& map, const std::string& path, const char* key,
                    std::vector<std::string>* out) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) {
      return Status::Ok();
    }
    if (!n.IsSequence()) {
      return Error(n, Join(path, key), "must be a list of strings");
    }
    out->clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        return Error(item, Join(path, key), "must be a list of strings");
      }
      out->push_back(item.Scalar());
    }
    return Status::Ok();
  }

  static bool ParseUnsigned(const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 19) {
      return false;
    }
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') {
        return false;
      }
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  }

 private:
  std::string source_;
};

#define RETURN_IF_ERROR(expr) \
  do {                        \
    Status _s = (expr);       \
    if (!_s.ok()) return _s;  \
  } while (0)

Status ParseListen(const Reader& r, const YAML::Node& node, const std::string& path,
                   std::vector<ListenAddress>* out) {
  std::vector<std::string> items;
  YAML::Node holder;
  holder["listen"] = node;
  if (node.IsScalar()) {
    items.push_back(node.Scalar());
  } else {
    RETURN_IF_ERROR(r.StringList(holder, "server", "listen", &items));
  }
  if (items.empty()) {
    return r.Error(node, path, "needs at least one host:port");
  }
  out->clear();
  for (const std::string& item : items) {
    size_t colon = item.rfind(':');
    uint64_t port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !Reader::ParseUnsigned(item.substr(colon + 1), &port) || port > 65535) {
      return r.Error(node, path, "'" + item + "' is not host:port");
    }
    std::string host = item.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    out->push_back(ListenAddress{host, static_cast<uint16_t>(port)});
  }
  return Status::Ok();
}

// server.allow: a list of CIDR blocks (or one block as a plain string); each bad entry is
// reported at its own line.
Status ParseAllow(const Reader& r, const YAML::Node& node, std::vector<std::string>* out) {
  const std::string path = "server.allow";
  out->clear();
  if (node.IsScalar()) {
    out->push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return r.Error(item, path, "must be a list of CIDR blocks such as 10.0.0.0/8 or ::1");
      }
      out->push_back(item.Scalar());
    }
  } else {
    return r.Error(node, path, "must be a list of CIDR blocks such as 10.0.0.0/8 or ::1");
  }
  if (out->empty()) {
    return r.Error(node, path,
                   "an empty list would refuse every peer; list the peers that may connect, or "
                   "remove the key for the default (loopback listeners: loopback peers only)");
  }
  size_t i = 0;
  for (const std::string& entry : *out) {
    auto block = net::ParseCidr(entry);
    if (!block.ok()) {
      YAML::Node at = node.IsSequence() ? node[i] : node;
      return r.Error(at, path, block.status().message());
    }
    ++i;
  }
  return Status::Ok();
}

Status ParseServer(const Reader& r, const YAML::Node& n, ServerConfig* s) {
  const std::string p = "server";
  RETURN_IF_ERROR(r.CheckKeys(
      n, p,
      {"listen", "workers", "worker_queue_limit", "max_frame_bytes", "max_output_buffer_bytes",
       "max_connections", "heartbeat_interval_ms", "idle_timeout_ms", "shutdown_deadline_ms",
       "allow", "max_inflight_per_connection", "frame_timeout_ms"}));
  if (n["listen"].IsDefined()) {
    RETURN_IF_ERROR(ParseListen(r, n["listen"], "server.listen", &s->listen));
  }
  if (YAML::Node allow = n["allow"]; allow.IsDefined() && !allow.IsNull()) {
    s->allow.emplace();
    RETURN_IF_ERROR(ParseAllow(r, allow, &*s->allow));
  }
  RETURN_IF_ERROR(r.Unsigned(n, p, "workers", &s->workers, 1));
  RETURN_IF_ERROR(r.Unsigned(n, p, "worker_queue_limit", &s->worker_queue_limit, 1));
  RETURN_IF_ERROR(
      r.Unsigned(n, p, "max_inflight_per_connection", &s->max_inflight_per_connection, 1));
  RETURN_IF_ERROR(r.Unsigned(n, p, "max_frame_bytes", &s->max_frame_bytes, 16));
  RETURN_IF_ERROR(r.Unsigned(n, p, "max_output_buffer_bytes", &s->max_output_buffer_bytes, 1024));
  RETURN_IF_ERROR(r.Unsigned(n, p, "max_connections", &s->max_connections, 1));
  RETURN_IF_ERROR(r.Unsigned(n, p, "heartbeat_interval_ms", &s->heartbeat_interval_ms, 100));
  RETURN_IF_ERROR(r.Unsigned(n, p, "idle_timeout_ms", &s->idle_timeout_ms, 100));
  RETURN_IF_ERROR(r.Unsigned(n, p, "frame_timeout_ms", &s->frame_timeout_ms));
  RETURN_IF_ERROR(r.Unsigned(n, p, "shutdown_deadline_ms", &s->shutdown_deadline_ms));
  if (s->workers > 1024) {
    return r.Error(n["workers"], "server.workers", "must be at most 1024");
  }
  if (!n["max_output_buffer_bytes"].IsDefined() &&
      s->max_output_buffer_bytes < s->max_frame_bytes) {
    s->max_output_buffer_bytes = s->max_frame_bytes;  // the default follows a larger frame limit
  }
  if (s->max_output_buffer_bytes < s->max_frame_bytes) {
    return r.Error(n["max_output_buffer_bytes"], "server.max_output_buffer_bytes",
                   "must be at least max_frame_bytes (" + std::to_string(s->max_frame_bytes) +
                       "): one whole answer must fit");
  }
  return Status::Ok();
}

// Empty if path is a readable regular file with PEM text in it, else what is wrong. Opened
// non-blocking and checked with fstat first, so a FIFO or device never blocks the loader.
std::string PemFileProblem(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return "cannot read '" + path + "': " + std::strerror(errno);
  }
  struct stat st {};
  std::string problem;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = "'" + path + "' is not a regular file";
  } else {
    std::string head(64 * 1024, '\0');
    ssize_t n = read(fd, head.data(), head.size());
    if (n < 0) {
      problem = "cannot read '" + path + "': " + std::strerror(errno);
    } else if (head.substr(0, static_cast<size_t>(n)).find("-----BEGIN ") == std::string::npos) {
      problem = "'" + path + "' is not a PEM file (no -----BEGIN line)";
    }
  }
  close(fd);
  return problem;
}

// mysql.<pool>.tls: {ca, cert, key, verify_server_cert}. Any mapping, even {}, makes TLS
// required; a null value is refused rather than guessed at.
Status ParseMysqlTls(const Reader& r, const YAML::Node& n, const std::string& p,
                     MysqlTlsConfig* tls) {
  if (!n.IsMap()) {
    return r.Error(n, p,
                   "must be a mapping {ca, cert, key, verify_server_cert} (tls: {} requires TLS "
                   "with the defaults; remove the key for plaintext)");
  }
  RETURN_IF_ERROR(r.CheckKeys(n, p, {"ca", "cert", "key", "verify_server_cert"}));
  RETURN_IF_ERROR(r.String(n, p, "ca", &tls->ca));
  RETURN_IF_ERROR(r.String(n, p, "cert", &tls->cert));
  RETURN_IF_ERROR(r.String(n, p, "key", &tls->key));
  RETURN_IF_ERROR(r.Bool(n, p, "verify_server_cert", &tls->verify_server_cert));
  if (tls->cert.empty() != tls->key.empty()) {
    const char* given = tls->cert.empty() ? "key" : "cert";
    return r.Error(n[given], Reader::Join(p, given),
                   "cert and key go together (a client certificate needs its private key)");
  }
  for (auto [key, file] : {std::pair<const char*, std::string*>{"ca", &tls->ca},
                           {"cert", &tls->cert},
                           {"key", &tls->key}}) {
    if (file->empty()) {
      continue;
    }
    if ((*file)[0] != '/') {
      *file = r.Directory() + *file;
    }
    if (std::string problem = PemFileProblem(*file); !problem.empty()) {
      return r.Error(n[key], Reader::Join(p, key), problem);
    }
  }
  return Status::Ok();
}

Status ParseMysql(const Reader& r, const YAML::Node& n,
                  std::map<std::string, MysqlPoolConfig>* out) {
  if (!n.IsMap()) {
    return r.Error(n, "mysql", "must be a mapping of pool name to settings");
  }
  out->clear();
  for (const auto& kv : n) {
    MysqlPoolConfig c;
    c.name = kv.first.as<std::string>();
    const std::string p = "mysql." + c.name;
    const YAML::Node& v = kv.second;
    RETURN_IF_ERROR(
        r.CheckKeys(v, p,
                    {"host", "port", "user", "password", "password_env", "database", "unix_socket",
                     "pool_size", "connect_timeout_ms", "read_timeout_ms", "write_timeout_ms",
                     "acquire_timeout_ms", "tls", "read_your_writes"}));
    RETURN_IF_ERROR(r.String(v, p, "host", &c.host));
    RETURN_IF_ERROR(r.Unsigned(v, p, "port", &c.port, 1));
    RETURN_IF_ERROR(r.String(v, p, "user", &c.user));
    RETURN_IF_ERROR(r.String(v, p, "password", &c.password));
    RETURN_IF_ERROR(r.String(v, p, "password_env", &c.password_env));
    RETURN_IF_ERROR(r.String(v, p, "database", &c.database));
    RETURN_IF_ERROR(r.String(v, p, "unix_socket", &c.unix_socket));
    RETURN_IF_ERROR(r.Unsigned(v, p, "pool_size", &c.pool_size, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "connect_timeout_ms", &c.connect_timeout_ms, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "read_timeout_ms", &c.read_timeout_ms, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "write_timeout_ms", &c.write_timeout_ms, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "acquire_timeout_ms", &c.acquire_timeout_ms, 1));
    if (YAML::Node tls = v["tls"]; tls.IsDefined()) {
      c.tls.emplace();
      RETURN_IF_ERROR(ParseMysqlTls(r, tls, p + ".tls", &*c.tls));
    }
    if (const YAML::Node ryw = v["read_your_writes"]; ryw.IsDefined() && !ryw.IsNull()) {
      const std::string q = p + ".read_your_writes";
      RETURN_IF_ERROR(r.CheckKeys(ryw, q, {"primary", "wait_ms", "scope"}));
      c.read_your_writes.enabled = true;
      RETURN_IF_ERROR(r.String(ryw, q, "primary", &c.read_your_writes.primary));
      RETURN_IF_ERROR(r.String(ryw, q, "scope", &c.read_your_writes.scope));
      if (c.read_your_writes.scope != "daemon" && c.read_your_writes.scope != "all") {
        return r.Error(ryw["scope"], q + ".scope", "must be daemon or all");
      }
      RETURN_IF_ERROR(r.Unsigned(ryw, q, "wait_ms", &c.read_your_writes.wait_ms, 1));
      if (c.read_your_writes.wait_ms >= c.read_timeout_ms) {
        return r.Error(ryw["wait_ms"], q + ".wait_ms",
                       "must be below read_timeout_ms (" + std::to_string(c.read_timeout_ms) +
                           "): the wait runs as a read on the replica");
      }
    }
    (*out)[c.name] = c;
  }
  // A replica pool names its primary: another pool that is not itself a replica.
  for (const auto& [name, c] : *out) {
    if (!c.read_your_writes.enabled) {
      continue;
    }
    const std::string q = "mysql." + name + ".read_your_writes.primary";
    const YAML::Node at = n[name]["read_your_writes"];
    auto primary = out->find(c.read_your_writes.primary);
    if (primary == out->end() || primary->first == name) {
      return r.Error(at, q,
                     "must name another pool of the mysql section ('" + c.read_your_writes.primary +
                         "' is not one)");
    }
    if (primary->second.read_your_writes.enabled) {
      return r.Error(at, q, "'" + primary->first + "' is itself a replica pool");
    }
  }
  return Status::Ok();
}

// redis.<name>.sentinels: a list of host:port, each bad entry reported at its own line.
Status ParseSentinels(const Reader& r, const YAML::Node& node, const std::string& path,
                      std::vector<RedisAddress>* out) {
  if (!node.IsSequence() || node.size() == 0) {
    return r.Error(node, path, "must be a non-empty list of host:port (the Sentinel addresses)");
  }
  out->clear();
  for (const auto& item : node) {
    uint64_t port = 0;
    const std::string text = item.IsScalar() ? item.Scalar() : "";
    const size_t colon = text.rfind(':');
    if (!item.IsScalar() || colon == std::string::npos || colon == 0 ||
        !Reader::ParseUnsigned(text.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return r.Error(item, path, "'" + text + "' is not host:port");
    }
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    out->push_back(RedisAddress{host, static_cast<uint16_t>(port)});
  }
  return Status::Ok();
}

// The Sentinel keys of one instance, and how they combine with host and port.
Status ParseRedisSentinel(const Reader& r, const YAML::Node& v, const std::string& p,
                          RedisConfig* c) {
  if (YAML::Node s = v["sentinels"]; s.IsDefined() && !s.IsNull()) {
    RETURN_IF_ERROR(ParseSentinels(r, s, p + ".sentinels", &c->sentinels));
  }
  RETURN_IF_ERROR(r.String(v, p, "master_name", &c->master_name));
  RETURN_IF_ERROR(r.String(v, p, "sentinel_username", &c->sentinel_username));
  RETURN_IF_ERROR(r.String(v, p, "sentinel_password", &c->sentinel_password));
  RETURN_IF_ERROR(r.Unsigned(v, p, "sentinel_timeout_ms", &c->sentinel_timeout_ms, 1));
  RETURN_IF_ERROR(r.Unsigned(v, p, "sentinel_poll_ms", &c->sentinel_poll_ms, 50));
  if (c->sentinels.empty()) {
    for (const char* key : {"master_name", "sentinel_username", "sentinel_password",
                            "sentinel_timeout_ms", "sentinel_poll_ms"}) {
      if (v[key].IsDefined()) {
        return r.Error(v[key], p + "." + key, "needs sentinels (a list of host:port)");
      }
    }
    return Status::Ok();
  }
  if (c->master_name.empty()) {
    return r.Error(v["sentinels"], p + ".master_name",
                   "sentinels need master_name (the name the sentinels monitor)");
  }
  for (const char* key : {"host", "port"}) {
    if (v[key].IsDefined()) {
      return r.Error(v[key], p + "." + key,
                     "cannot be used with sentinels: the sentinels name the master");
    }
  }
  if (!c->sentinel_username.empty() && c->sentinel_password.empty()) {
    return r.Error(v["sentinel_username"], p + ".sentinel_username",
                   "a Sentinel ACL user needs sentinel_password");
  }
  return Status::Ok();
}

Status ParseRedis(const Reader& r, const YAML::Node& n, std::map<std::string, RedisConfig>* out) {
  if (!n.IsMap()) {
    return r.Error(n, "redis", "must be a mapping of instance name to settings");
  }
  out->clear();
  for (const auto& kv : n) {
    RedisConfig c;
    c.name = kv.first.as<std::string>();
    const std::string p = "redis." + c.name;
    const YAML::Node& v = kv.second;
    RETURN_IF_ERROR(r.CheckKeys(
        v, p,
        {"host", "port", "db", "username", "password", "pool_size", "connect_timeout_ms",
         "command_timeout_ms", "acquire_timeout_ms", "sentinels", "master_name",
         "sentinel_username", "sentinel_password", "sentinel_timeout_ms", "sentinel_poll_ms"}));
    RETURN_IF_ERROR(r.String(v, p, "host", &c.host));
    RETURN_IF_ERROR(r.Unsigned(v, p, "port", &c.port, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "db", &c.db));
    RETURN_IF_ERROR(r.String(v, p, "username", &c.username));
    RETURN_IF_ERROR(r.String(v, p, "password", &c.password));
    if (!c.username.empty() && c.password.empty()) {
      return r.Error(v["username"], p + ".username", "a Redis ACL user needs a password");
    }
    RETURN_IF_ERROR(r.Unsigned(v, p, "pool_size", &c.pool_size, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "connect_timeout_ms", &c.connect_timeout_ms, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "command_timeout_ms", &c.command_timeout_ms, 1));
    RETURN_IF_ERROR(r.Unsigned(v, p, "acquire_timeout_ms", &c.acquire_timeout_ms, 1));
    RETURN_IF_ERROR(ParseRedisSentinel(r, v, p, &c));
    (*out)[c.name] = c;
  }
  return Status::Ok();
}

Status ParsePlugins(const Reader& r, const YAML::Node& n, PluginsConfig* c) {
  const std::string p = "plugins";
  RETURN_IF_ERROR(r.CheckKeys(n, p, {"directory", "staging_directory", "enabled", "modules"}));
  RETURN_IF_ERROR(r.String(n, p, "directory", &c->directory));
  RETURN_IF_ERROR(r.String(n, p, "staging_directory", &c->staging_directory));
  RETURN_IF_ERROR(r.StringList(n, p, "enabled", &c->enabled));
  std::set<std::string> seen;
  for (const std::string& name : c->enabled) {
    if (!seen.insert(name).second) {
      return r.Error(n["enabled"], "plugins.enabled", "'" + name + "' is listed twice");
    }
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return r.Error(n["enabled"], "plugins.enabled", "'" + name + "' is not a module name");
    }
  }
  YAML::Node modules = n["modules"];
  if (modules.IsDefined() && !modules.IsNull()) {
    if (!modules.IsMap()) {
      return r.Error(modules, "plugins.modules", "must be a mapping");
    }
    for (const auto& kv : modules) {
      std::string name = kv.first.as<std::string>();
      if (!kv.second.IsNull() && !kv.second.IsMap()) {
        return r.Error(kv.second, "plugins.modules." + name, "must be a mapping");
      }
      c->modules[name] = YAML::Clone(kv.second);
    }
  }
  return Status::Ok();
}

Status Parse(const Reader& r, const YAML::Node& root, Config* c) {
  if (root.IsNull()) {
    return Status::Ok();  // an empty file means all defaults
  }
  RETURN_IF_ERROR(r.CheckKeys(root, "", {"server", "mysql", "redis", "plugins", "log", "admin"}));
  if (root["server"].IsDefined()) {
    RETURN_IF_ERROR(ParseServer(r, root["server"], &c->server));
  }
  if (root["mysql"].IsDefined()) {
    RETURN_IF_ERROR(ParseMysql(r, root["mysql"], &c->mysql));
  }
  if (root["redis"].IsDefined()) {
    RETURN_IF_ERROR(ParseRedis(r, root["redis"], &c->redis));
  }
  if (root["plugins"].IsDefined()) {
    RETURN_IF_ERROR(ParsePlugins(r, root["plugins"], &c->plugins));
  }
  if (YAML::Node log = root["log"]; log.IsDefined()) {
    RETURN_IF_ERROR(r.CheckKeys(log, "log", {"level", "file"}));
    RETURN_IF_ERROR(r.String(log, "log", "level", &c->log.level));
    RETURN_IF_ERROR(r.String(log, "log", "file", &c->log.file));
    static const std::vector<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
    if (std::find(kLevels.begin(), kLevels.end(), c->log.level) == kLevels.end()) {
      return r.Error(log["level"], "log.level",
                     "must be one of trace, debug, info, warn, error, critical, off");
    }
  }
  if (YAML::Node admin = root["admin"]; admin.IsDefined()) {
    RETURN_IF_ERROR(r.CheckKeys(admin, "admin", {"socket", "socket_group", "metrics_listen"}));
    RETURN_IF_ERROR(r.String(admin, "admin", "socket", &c->admin.socket));
    if (YAML::Node group = admin["socket_group"]; group.IsDefined() && !group.IsNull()) {
      RETURN_IF_ERROR(r.String(admin, "admin", "socket_group", &c->admin.socket_group));
      if (c->admin.socket_group.empty()) {
        return r.Error(group, "admin.socket_group",
                       "must name a group (remove the key for the default, dbproxy)");
      }
      c->admin.socket_group_explicit = true;
    }
    RETURN_IF_ERROR(r.String(admin, "admin", "metrics_listen", &c->admin.metrics_listen));
  }
  return Status::Ok();
}

// Defaults that depend on nothing in the file: the two TeamTalk pools and five instances.
void ApplyDefaults(Config* c) {
  for (const char* name : {"teamtalk_master", "teamtalk_slave"}) {
    MysqlPoolConfig m;
    m.name = name;
    c->mysql[name] = m;
  }
  const std::pair<const char*, uint32_t> kRedis[] = {
      {"unread", 1}, {"group_set", 2}, {"sync", 3}, {"token", 4}, {"group_member", 5}};
  for (const auto& [name, db] : kRedis) {
    RedisConfig r;
    r.name = name;
    r.db = db;
    c->redis[name] = r;
  }
}

}  // namespace

std::string ClosestKey(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& cand : candidates) {
    // Levenshtein distance with one rolling row.
    std::vector<size_t> row(cand.size() + 1);
    for (size_t j = 0; j <= cand.size(); ++j) {
      row[j] = j;
    }
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= cand.size(); ++j) {
        size_t up = row[j];
        row[j] =
            std::min({row[j] + 1, row[j - 1] + 1, diag + (word[i - 1] == cand[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    if (row[cand.size()] < best_distance) {
      best_distance = row[cand.size()];
      best = cand;
    }
  }
  // Only suggest when the typo is small relative to the word.
  return best_distance <= std::max<size_t>(2, word.size() / 3) ? best : "";
}

Result<Config> LoadConfigText(const std::string& text, const std::string& source_name) {
  Config c;
  c.source_path = source_name;
  ApplyDefaults(&c);
  Reader r(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status(DBP_E_CONFIG, source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    Status s = Parse(r, root, &c);
    if (!s.ok()) {
      return s;
    }
  } catch (const YAML::Exception& e) {
    return Status(DBP_E_CONFIG, source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return c;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status(DBP_E_CONFIG, path + ": cannot open file");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return LoadConfigText(buf.str(), path);
}

}  // namespace dbproxy::config
