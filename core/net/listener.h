#pragma once

// One listening TCP socket. Accepted sockets from peers its allow list admits go to the
// on_accept callback, which owns them; the others are closed at once, before a byte is
// read or written, and reported to on_refused. Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "core/base/status.h"
#include "core/net/allow_list.h"

namespace dbproxy::net {

class Listener {
 public:
  using AcceptFn = std::function<void(uv_tcp_t* accepted)>;
  // peer is "host:port" of the refused client, local the listener's bound address.
  using RefusedFn = std::function<void(const std::string& peer, const std::string& local)>;

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

  // Peers not in list are refused from the next accept on; nullptr admits every peer (the
  // initial state). May be called at any time on the loop thread (reload).
  void SetAllowList(std::shared_ptr<const AllowList> list) { allow_ = std::move(list); }
  const std::shared_ptr<const AllowList>& allow_list() const { return allow_; }
  void SetOnRefused(RefusedFn on_refused) { on_refused_ = std::move(on_refused); }

 private:
  static void OnConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  AcceptFn on_accept_;
  RefusedFn on_refused_;
  std::shared_ptr<const AllowList> allow_;  // nullptr: everyone
  uv_tcp_t* tcp_ = nullptr;                 // owned until Close()
  std::string bound_;
};

}  // namespace dbproxy::net
