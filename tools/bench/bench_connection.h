#pragma once

// One client connection of the load generator: connects, keeps up to max_in_flight requests
// outstanding, frames them with its own seq numbers, matches replies by seq in any order,
// answers server heartbeats, and stops sending on a stop notice (0x0702).

#include <cstdint>
#include <string>
#include <vector>

#include <uv.h>

#include "tools/bench/bench_request.h"
#include "tools/bench/in_flight_table.h"
#include "tools/bench/reply_checker.h"
#include "tools/bench/run_stats.h"
#include "tools/bench/wire_frame.h"

namespace dbproxy::bench {

class BenchConnection;

// What a connection asks of, and reports to, the code that drives it. Loop thread only.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // The next request to send; false when there is nothing to send now.
  virtual bool NextRequest(RequestSpec* out) = 0;
  // A reply matched a request; verdict.failure says whether it was good.
  virtual void OnReply(const InFlight& request, const Verdict& verdict, uint64_t latency_ns,
                       uint64_t now_ns) = 0;
  // A request ended without a reply: kTimeout or kMissingReply.
  virtual void OnNoReply(const InFlight& request, Failure failure, uint64_t now_ns) = 0;
  // The connect attempt finished (ok or not). A failed connection is closing already.
  virtual void OnConnectDone(BenchConnection& connection, bool ok) = 0;
  // The server sent a stop notice (0x0702): this connection sends nothing more, but its
  // requests in flight are still answered.
  virtual void OnStopSending(BenchConnection& connection) = 0;
  // An open connection is no longer usable (peer closed, error, or Close()); reported once,
  // after its live requests were reported through OnNoReply.
  virtual void OnClosed(BenchConnection& connection) = 0;
};

// Thread rule: loop thread only. Lifetime: after Close() (or a close by the peer) the object
// must stay alive until the loop has run the close callback (closed() turns true).
class BenchConnection {
 public:
  // Silence after which the connection sends its own heartbeat (msg_server does the same).
  static constexpr uint64_t kIdleHeartbeatNs = 5'000'000'000;

  BenchConnection(uv_loop_t* loop, ConnectionOwner* owner, ConnectionCounters* counters,
                  uint32_t max_in_flight);
  ~BenchConnection();
  BenchConnection(const BenchConnection&) = delete;
  BenchConnection& operator=(const BenchConnection&) = delete;

  // Starts connecting. The owner hears OnConnectDone exactly once (synchronously if libuv
  // refuses at once).
  void Connect(const sockaddr* address);

  // Asks the owner for requests until max_in_flight are live or it has none, and writes them
  // in one batch.
  void Pump();

  // Times out live requests older than timeout_ns and sends a heartbeat after
  // kIdleHeartbeatNs of silence. Then Pump()s, since timeouts free slots.
  void Tick(uint64_t now_ns, uint64_t timeout_ns);

  // Closes the socket; live requests are reported as kMissingReply.
  void Close();

  bool open() const { return state_ == State::kOpen; }
  bool closed() const { return state_ == State::kClosed; }
  bool stopped_sending() const { return stop_sending_; }
  size_t live() const { return table_.live(); }

 private:
  enum class State { kIdle, kConnecting, kOpen, kClosing, kClosed };

  struct WriteRequest {
    uv_write_t req;
    std::string data;
  };

  static void OnConnect(uv_connect_t* req, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnCloseDone(uv_handle_t* handle);

  void HandleFrame(const FrameReader::Frame& frame, uint64_t now_ns);
  void Write(std::string data);
  void SendHeartbeat();
  // Reports live requests as missing and starts closing. by_peer: counted as closed_by_peer.
  void Fail(bool by_peer);

  uv_loop_t* loop_;
  ConnectionOwner* owner_;
  ConnectionCounters* counters_;
  uint32_t max_in_flight_;
  State state_ = State::kIdle;
  bool stop_sending_ = false;  // the server sent 0x0702
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  InFlightTable table_;
  FrameReader reader_;
  std::vector<char> read_buffer_;
  std::vector<InFlight> scratch_;  // reused for expired / missing requests
  uint64_t last_send_ns_ = 0;
};

}  // namespace dbproxy::bench
