#include "core/admin/admin_server.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/base/log.h"
#include "core/config/yaml_loader.h"
#include "core/loop/uv_owner.h"
#include "core/server.h"

namespace dbproxy::admin {
namespace {

constexpr size_t kMaxRequestBytes = 8192;

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? "," : "") + JsonString(v[i]);
  }
  return out + "]";
}

}  // namespace

// One accepted admin or HTTP connection: reads a request, writes the answer, closes.
struct AdminServer::Client {
  AdminServer* owner;
  bool http;
  uv_stream_t* stream;
  std::string in;
  std::string out;
  uv_write_t write_req;
  bool answered = false;
  std::string refusal;  // admin socket: set when the peer may not use it

  void Finish(std::string response) {
    answered = true;
    out = std::move(response);
    uv_read_stop(stream);
    uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write_req.data = this;
    if (uv_write(&write_req, stream, &b, 1,
                 [](uv_write_t* w, int) { static_cast<Client*>(w->data)->CloseSelf(); }) != 0) {
      CloseSelf();
    }
  }
  void CloseSelf() {
    stream->data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(stream), [](uv_handle_t* h) {
      auto* c = static_cast<Client*>(h->data);
      if (c->http) {
        delete reinterpret_cast<uv_tcp_t*>(h);
      } else {
        delete reinterpret_cast<uv_pipe_t*>(h);
      }
      delete c;
    });
  }
};

AdminServer::AdminServer(uv_loop_t* loop, Server* server) : loop_(loop), server_(server) {}

AdminServer::~AdminServer() { Close(); }

Status AdminServer::Start(const config::AdminConfig& cfg) {
  if (!cfg.socket.empty()) {
    std::error_code ec;
    std::filesystem::path p(cfg.socket);
    if (p.has_parent_path()) {
      std::filesystem::create_directories(p.parent_path(), ec);
    }
    // A socket file left by a crashed instance would make bind fail; nobody listens on it.
    std::filesystem::remove(p, ec);
    pipe_ = new uv_pipe_t;
    uv_pipe_init(loop_, pipe_, 0);
    pipe_->data = this;
    // Created 0600 and opened to the group only once it has the right group (below).
    mode_t old_mask = umask(0177);
    int rc = uv_pipe_bind(pipe_, cfg.socket.c_str());
    umask(old_mask);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(pipe_), 16, &OnAdminConnection);
    }
    if (rc != 0) {
      loop::CloseAndDelete(pipe_);
      pipe_ = nullptr;
      return Status::Unavailable("admin socket " + cfg.socket + ": " + uv_strerror(rc));
    }
    socket_path_ = cfg.socket;
    auto access = SecureSocketFile(cfg);
    if (!access.ok()) {
      Close();
      return access.status();
    }
    access_ = std::make_unique<AdminAccess>(std::move(access).value());
    log::Get("admin")->info("admin socket {}: open to {}", socket_path_, access_->Describe());
  }
  if (!cfg.metrics_listen.empty()) {
    size_t colon = cfg.metrics_listen.rfind(':');
    std::string host = cfg.metrics_listen.substr(0, colon);
    int port = colon == std::string::npos ? -1 : std::atoi(cfg.metrics_listen.c_str() + colon + 1);
    sockaddr_in addr{};
    if (port < 0 || port > 65535 || uv_ip4_addr(host.c_str(), port, &addr) != 0) {
      return Status::Invalid("admin.metrics_listen '" + cfg.metrics_listen + "' is not ipv4:port");
    }
    http_ = new uv_tcp_t;
    uv_tcp_init(loop_, http_);
    http_->data = this;
    int rc = uv_tcp_bind(http_, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(http_), 16, &OnMetricsConnection);
    }
    if (rc != 0) {
      loop::CloseAndDelete(http_);
      http_ = nullptr;
      return Status::Unavailable("metrics listener " + cfg.metrics_listen + ": " + uv_strerror(rc));
    }
    sockaddr_in bound{};
    int len = sizeof(bound);
    uv_tcp_getsockname(http_, reinterpret_cast<sockaddr*>(&bound), &len);
    char name[INET_ADDRSTRLEN] = {0};
    uv_ip4_name(&bound, name, sizeof(name));
    metrics_address_ = std::string(name) + ":" + std::to_string(ntohs(bound.sin_port));
  }
  return Status::Ok();
}

Result<AdminAccess> AdminServer::SecureSocketFile(const config::AdminConfig& cfg) {
  auto logger = log::Get("admin");
  auto gid = LookUpGroup(cfg.socket_group);
  if (!gid.ok()) {
    return gid.status();
  }
  if (!gid.value()) {
    if (cfg.socket_group_explicit) {
      return Status(DBP_E_CONFIG, "admin.socket_group: group '" + cfg.socket_group +
                                      "' does not exist (create it, or remove the key)");
    }
    logger->info("admin socket {}: group {} does not exist; only root and uid {} may use it",
                 cfg.socket, cfg.socket_group, geteuid());
    return AdminAccess(geteuid(), std::nullopt, cfg.socket_group);
  }
  // The group must own the file before the group may open it.
  if (chown(cfg.socket.c_str(), static_cast<uid_t>(-1), *gid.value()) != 0) {
    // E.g. a daemon run by hand by a user outside the group: it still serves root and its
    // own user; group members are refused by the file mode as well as by the peer check.
    logger->warn("admin socket {}: cannot give it group {}: {}; only root and uid {} may use it",
                 cfg.socket, cfg.socket_group, std::strerror(errno), geteuid());
    return AdminAccess(geteuid(), std::nullopt, cfg.socket_group);
  }
  if (chmod(cfg.socket.c_str(), 0660) != 0) {
    return Status::Unavailable("admin socket " + cfg.socket +
                               ": chmod 0660: " + std::strerror(errno));
  }
  return AdminAccess(geteuid(), *gid.value(), cfg.socket_group);
}

void AdminServer::Close() {
  if (pipe_ != nullptr) {
    loop::CloseAndDelete(pipe_);
    pipe_ = nullptr;
    std::error_code ec;
    std::filesystem::remove(socket_path_, ec);
  }
  if (http_ != nullptr) {
    loop::CloseAndDelete(http_);
    http_ = nullptr;
  }
}

void AdminServer::OnAdminConnection(uv_stream_t* s, int status) {
  if (status == 0) {
    static_cast<AdminServer*>(s->data)->Accept(s, false);
  }
}

void AdminServer::OnMetricsConnection(uv_stream_t* s, int status) {
  if (status == 0) {
    static_cast<AdminServer*>(s->data)->Accept(s, true);
  }
}

void AdminServer::Accept(uv_stream_t* server, bool http) {
  uv_stream_t* stream;
  if (http) {
    auto* t = new uv_tcp_t;
    uv_tcp_init(loop_, t);
    stream = reinterpret_cast<uv_stream_t*>(t);
  } else {
    auto* p = new uv_pipe_t;
    uv_pipe_init(loop_, p, 0);
    stream = reinterpret_cast<uv_stream_t*>(p);
  }
  auto* client = new Client{this, http, stream, {}, {}, {}, false, {}};
  stream->data = client;
  if (uv_accept(server, stream) != 0) {
    client->CloseSelf();
    return;
  }
  if (!http) {
    CheckPeer(client);
  }
  uv_read_start(
      stream,
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static thread_local char chunk[4096];  // host code: never unloaded
        *buf = uv_buf_init(chunk, sizeof(chunk));
      },
      [](uv_stream_t* st, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Client*>(st->data);
        if (c->answered) {
          return;
        }
        if (n < 0) {
          c->CloseSelf();
          return;
        }
        c->in.append(buf->base, static_cast<size_t>(n));
        if (c->in.size() > kMaxRequestBytes) {
          c->CloseSelf();
          return;
        }
        if (c->http) {
          if (c->in.find("\r\n\r\n") == std::string::npos) {
            return;
          }
          bool metrics = c->in.rfind("GET /metrics", 0) == 0;
          std::string body = metrics ? c->owner->server_->RenderMetrics() : "not found\n";
          std::string head = std::string("HTTP/1.1 ") + (metrics ? "200 OK" : "404 Not Found") +
                             "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"
                             "\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
          c->Finish(head + body);
        } else {
          size_t nl = c->in.find('\n');
          if (nl == std::string::npos) {
            return;
          }
          // A refused peer's line is read (so that its write does not fail) but not run.
          c->Finish((c->refusal.empty()
                         ? c->owner->Handle(c->in.substr(0, nl))
                         : "{\"ok\":false,\"error\":" + JsonString(c->refusal) + "}") +
                    "\n");
        }
      });
}

void AdminServer::CheckPeer(Client* client) {
  uv_os_fd_t fd = -1;
  auto peer = uv_fileno(reinterpret_cast<uv_handle_t*>(client->stream), &fd) == 0
                  ? ReadPeerCredentials(fd)
                  : Result<PeerCredentials>(Status::Unavailable("no descriptor"));
  if (peer.ok() && access_ != nullptr && access_->Admits(peer.value())) {
    return;
  }
  std::string why = peer.ok() ? (access_ != nullptr ? access_->Refusal(peer.value())
                                                    : std::string("no access rule"))
                              : "peer credentials unknown (" + peer.status().message() + ")";
  client->refusal = "permission denied: " + why + "; see admin.socket_group";
  server_->metrics().admin_denied.fetch_add(1, std::memory_order_relaxed);
  log::Get("admin")->warn("admin socket: refused pid {}: {}", peer.ok() ? peer->pid : 0, why);
}

std::string AdminServer::Handle(const std::string& line) {
  std::string cmd = line;
  std::string arg;
  if (size_t sp = line.find(' '); sp != std::string::npos) {
    cmd = line.substr(0, sp);
    arg = line.substr(sp + 1);
  }
  if (cmd == "status") {
    return "{\"ok\":true,\"status\":" + server_->StatusJson() + "}";
  }
  if (cmd == "modules") {
    return "{\"ok\":true,\"modules\":" + server_->ModulesJson() + "}";
  }
  if (cmd == "config-check") {
    auto cfg = config::LoadConfigFile(server_->config().source_path);
    if (!cfg.ok()) {
      return "{\"ok\":false,\"error\":" + JsonString(cfg.status().message()) + "}";
    }
    return "{\"ok\":true,\"path\":" + JsonString(server_->config().source_path) + "}";
  }
  if (cmd == "reload") {
    plugin::ReloadResult r = server_->ReloadFromFile(arg);
    std::string out = "{\"ok\":" + std::string(r.ok ? "true" : "false") +
                      ",\"generation\":" + std::to_string(r.generation);
    if (!r.ok) {
      out += ",\"error\":" + JsonString(r.error);
    }
    out += ",\"loaded\":" + JsonList(r.loaded) + ",\"unloaded\":" + JsonList(r.unloaded) +
           ",\"unchanged\":" + JsonList(r.unchanged) +
           ",\"restart_required\":" + JsonList(r.restart_required) + "}";
    return out;
  }
  return "{\"ok\":false,\"error\":" + JsonString("unknown command '" + cmd + "'") + "}";
}

}  // namespace dbproxy::admin
