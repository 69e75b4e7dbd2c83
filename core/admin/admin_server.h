#pragma once

// The operator's doors: a Unix socket for dbproxyctl, speaking one request line per
// connection ("status", "modules", "reload [MODULE]", "config-check") answered with one
// JSON document; and a loopback HTTP endpoint serving Prometheus text at /metrics.
// The socket file is mode 0660, group admin.socket_group (dbproxy), and every peer's
// kernel-reported credentials are checked (peer_credentials.h): root, the daemon's user and
// that group's members are served, anyone else gets one refusal line and is logged.
// Loop thread only.

#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "core/admin/peer_credentials.h"
#include "core/base/status.h"
#include "core/config/config.h"

namespace dbproxy {
class Server;
}

namespace dbproxy::admin {

class AdminServer {
 public:
  AdminServer(uv_loop_t* loop, Server* server);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Opens whichever of cfg.socket and cfg.metrics_listen are set.
  Status Start(const config::AdminConfig& cfg);
  void Close();

  const std::string& socket_path() const { return socket_path_; }
  const std::string& metrics_address() const { return metrics_address_; }

  // Answers one admin request line with a JSON document (exposed for tests).
  std::string Handle(const std::string& line);

 private:
  struct Client;
  static void OnAdminConnection(uv_stream_t* s, int status);
  static void OnMetricsConnection(uv_stream_t* s, int status);
  void Accept(uv_stream_t* server, bool http);
  // Reads the admin peer's credentials; a peer the rule refuses gets client->refusal set.
  void CheckPeer(Client* client);

  // The socket file's mode and group; returns the access rule for its peers.
  Result<AdminAccess> SecureSocketFile(const config::AdminConfig& cfg);

  uv_loop_t* loop_;
  Server* server_;
  std::unique_ptr<AdminAccess> access_;  // set once the socket is open
  uv_pipe_t* pipe_ = nullptr;
  uv_tcp_t* http_ = nullptr;
  std::string socket_path_;
  std::string metrics_address_;
};

}  // namespace dbproxy::admin
