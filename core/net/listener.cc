#include "core/net/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/base/log.h"
#include "core/loop/uv_owner.h"

namespace dbproxy::net {
namespace {

// "1.2.3.4:5" or "[::1]:5".
std::string AddressText(const sockaddr_storage& addr) {
  char name[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, name, sizeof(name));
    return std::string(name) + ":" + std::to_string(ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
  uv_ip6_name(a, name, sizeof(name));
  return "[" + std::string(name) + "]:" + std::to_string(ntohs(a->sin6_port));
}

}  // namespace

Listener::Listener(uv_loop_t* loop, AcceptFn on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)) {}

Listener::~Listener() { Close(); }

Status Listener::Listen(const std::string& host, uint16_t port, int backlog) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return Status::Invalid("listen address '" + host + "' is not an IP address");
  }
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  int rc = uv_tcp_bind(tcp_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), backlog, &Listener::OnConnection);
  }
  if (rc != 0) {
    loop::CloseAndDelete(tcp_);
    tcp_ = nullptr;
    return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                               uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_ = AddressText(bound);
  return Status::Ok();
}

void Listener::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    log::Get("net")->warn("accept on {} failed: {}", self->bound_, uv_strerror(status));
    return;
  }
  auto* client = new uv_tcp_t;
  uv_tcp_init(self->loop_, client);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
    loop::CloseAndDelete(client);
    return;
  }
  if (self->allow_ != nullptr) {
    sockaddr_storage peer{};
    int len = sizeof(peer);
    // A peer whose address cannot be read (it reset already) is not known to be allowed.
    bool known = uv_tcp_getpeername(client, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
    if (!known || !self->allow_->Allows(reinterpret_cast<const sockaddr*>(&peer))) {
      // Closed before anything is read or written: the peer learns nothing about us.
      loop::CloseAndDelete(client);
      if (self->on_refused_) {
        self->on_refused_(known ? AddressText(peer) : "unknown", self->bound_);
      }
      return;
    }
  }
  self->on_accept_(client);
}

void Listener::Close() {
  if (tcp_ == nullptr) {
    return;
  }
  loop::CloseAndDelete(tcp_);
  tcp_ = nullptr;
}

}  // namespace dbproxy::net
