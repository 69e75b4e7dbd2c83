#pragma once

// One listening TCP socket. Accepted sockets go to the on_accept callback, which owns them.
// Loop thread only.

#include <cstdint>
#include <functional>
#include <string>

#include <uv.h>

#include "core/base/status.h"

namespace dbproxy::net {

class Listener {
 public:
  using AcceptFn = std::function<void(uv_tcp_t* accepted)>;

  Listener(uv_loop_t* loop, AcceptFn on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds host:port (port 0 picks a free one) and starts listening.
  Status Listen(const std::string& host, uint16_t port, int backlog = 1024);
  // The bound address as "host:port" (the real port when 0 was asked for).
  std::string bound_address() const { return bound_; }
  // Stops accepting and closes the socket. Safe to call twice.
  void Close();

 private:
  static void OnConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  AcceptFn on_accept_;
  uv_tcp_t* tcp_ = nullptr;  // owned until Close()
  std::string bound_;
};

}  // namespace dbproxy::net
