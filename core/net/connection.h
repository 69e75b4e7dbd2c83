#pragma once

// One client connection: read buffer, frame extraction, write queue with a byte bound,
// read pause/resume for back-pressure, and the last-send/last-receive clocks used by the
// heartbeat sweep. Loop thread only.

#include <cstdint>
#include <string>
#include <string_view>

#include <uv.h>

#include "core/net/frame_header.h"

namespace dbproxy::net {

class Connection;

// What a connection reports to its owner. Loop thread.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // A whole frame arrived. body is valid for the call only. Return false to refuse it for
  // now (back-pressure): it and the rest stay buffered and reading pauses until Resume().
  virtual bool OnFrame(Connection& conn, const FrameHeader& header, std::string_view body) = 0;
  // The connection is closed and about to be deleted. Called once.
  virtual void OnClosed(Connection& conn) = 0;
};

// Why the daemon closed a connection (kPeer: the peer closed it or the socket failed), so
// the owner can count each cause.
enum class CloseCause { kPeer, kBadFrame, kOutputFull, kIdle, kFrameTimeout, kOther };

struct ConnectionLimits {
  uint32_t max_frame_bytes = 1024 * 1024;
  uint32_t max_output_buffer_bytes = 16 * 1024 * 1024;
};

class Connection {
 public:
  // Takes ownership of tcp (already accepted, heap-allocated with new).
  Connection(uint64_t id, uv_tcp_t* tcp, ConnectionOwner* owner, ConnectionLimits limits);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  // The peer's socket address (for allow-list checks after a reload); false if the socket
  // no longer has one.
  bool PeerAddress(sockaddr_storage* out) const;
  uint64_t last_recv_ms() const { return last_recv_ms_; }
  uint64_t last_send_ms() const { return last_send_ms_; }
  size_t output_bytes() const { return output_bytes_; }
  // Bytes received but not yet taken as frames (a partial frame, or frames held while paused).
  size_t input_bytes() const { return input_.size(); }
  // When the first byte of the frame still incomplete at the front of the input arrived
  // (loop clock, ms); 0 when no partial frame is pending. For the frame timeout sweep.
  uint64_t partial_since_ms() const { return partial_since_ms_; }
  bool closing() const { return closing_; }

  void StartReading();
  // Stops reading from the socket (TCP back-pressure) and stops taking buffered frames.
  void Pause();
  // Takes buffered frames again, then reads from the socket.
  void Resume();
  // Queues a whole frame for writing. A peer that lets more than max_output_buffer_bytes
  // pile up is closed.
  void Send(std::string frame);
  // Closes the socket; OnClosed follows once libuv is done, then the object deletes itself.
  void Close(const char* reason, CloseCause cause = CloseCause::kOther);
  // The cause given to the first Close() (kPeer until then).
  CloseCause close_cause() const { return close_cause_; }

 private:
  ~Connection() = default;  // deletes itself from the close callback
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  // Takes whole frames from data (stops early when paused or closing); returns bytes used.
  size_t Consume(std::string_view data);
  // Consume()s input_ and drops what was used.
  void TakeFrames();

  const uint64_t id_;
  uv_tcp_t* tcp_;
  ConnectionOwner* owner_;
  const ConnectionLimits limits_;
  std::string peer_;
  std::string input_;        // unparsed bytes; never more than one frame plus one read
  size_t output_bytes_ = 0;  // queued in uv_write requests not yet completed
  uint64_t last_recv_ms_;
  uint64_t last_send_ms_;
  uint64_t partial_since_ms_ = 0;
  bool paused_ = false;
  bool reading_ = false;
  bool closing_ = false;
  CloseCause close_cause_ = CloseCause::kPeer;
};

}  // namespace dbproxy::net
