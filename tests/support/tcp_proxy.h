#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace dbproxy::testing {

// A TCP forwarder in front of a real server (MariaDB, Redis) that a test can cut and
// restore, for the one failure the real server cannot produce on cue: going away mid-run.
// It forwards bytes unchanged, so everything else the client sees is the real server.
//
//   auto proxy = TcpProxy::Start("127.0.0.1", env.mysql_port);
//   options.mysql_overrides["teamtalk_master"].port = proxy->port();
//   ...
//   proxy->Cut();      // every forwarded connection is reset, new ones are refused
//   ...
//   ASSERT_TRUE(proxy->Restore());  // accepting and forwarding again, same port
//
// One thread of its own does all socket work; the public methods may be called from any
// one thread at a time. Cut() and Restore() return once the proxy is in the new state.
class TcpProxy {
 public:
  // Listens on 127.0.0.1:<free port> and forwards every accepted connection to
  // target_host:target_port (connected when the client connects). Failures record a test
  // failure and throw, ending the current test. Never returns null.
  static std::unique_ptr<TcpProxy> Start(const std::string& target_host, uint16_t target_port);

  ~TcpProxy();  // stops the thread and closes every socket
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const;

  // Resets every forwarded connection on both sides (RST, as a crashed server would) and
  // closes the listening socket, so new connections are refused.
  void Cut();

  // Listens on the same port again. False (and a test failure) if the port was taken in
  // the meantime.
  [[nodiscard]] bool Restore();

  // Forwards as before until a client sends `request` (exact bytes, e.g. one whole MySQL
  // packet), then, once the server's answer to it arrives, drops that answer and cuts as
  // Cut() does: the server acted on the request, the client never hears of it (a COMMIT
  // that took effect while its connection died). One request per call; Restore() after.
  void CutAfterAnswerTo(std::string request);
  // True once the cut armed by the last CutAfterAnswerTo() happened.
  bool armed_cut_done() const;

  // Connections accepted so far, and the number forwarding right now.
  uint64_t accepted() const;
  uint64_t open_connections() const;

 private:
  class Impl;
  explicit TcpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dbproxy::testing
