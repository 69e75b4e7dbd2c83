#include "core/net/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/base/log.h"
#include "core/net/frame_codec.h"

namespace dbproxy::net {
namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;

struct WriteRequest {
  uv_write_t req;
  std::string data;
  Connection* conn;
};

std::string PeerName(uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int len = sizeof(addr);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "?";
  }
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    uv_ip4_name(a, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    uv_ip6_name(a, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Connection::Connection(uint64_t id, uv_tcp_t* tcp, ConnectionOwner* owner, ConnectionLimits limits)
    : id_(id), tcp_(tcp), owner_(owner), limits_(limits) {
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
  peer_ = PeerName(tcp_);
  last_recv_ms_ = last_send_ms_ = uv_now(tcp_->loop);
}

bool Connection::PeerAddress(sockaddr_storage* out) const {
  int len = sizeof(*out);
  return uv_tcp_getpeername(tcp_, reinterpret_cast<sockaddr*>(out), &len) == 0;
}

void Connection::StartReading() {
  if (closing_ || paused_ || reading_) {
    return;
  }
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &Connection::OnAlloc,
                    &Connection::OnRead) == 0) {
    reading_ = true;
  }
}

void Connection::Pause() {
  paused_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    reading_ = false;
  }
}

void Connection::Resume() {
  if (closing_) {
    return;
  }
  paused_ = false;
  TakeFrames();
  StartReading();
}

// Reads land in one chunk shared by every connection of the loop when no partial frame is
// pending; only an unfinished tail is copied into the connection's own buffer. An idle
// connection then holds no read memory (64 KiB each would be 640 MB at 10,000 peers).
// Loop thread only: OnAlloc and OnRead of one read run back to back on it.
namespace {
char g_shared_read_chunk[kReadChunkBytes];
}  // namespace

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(h->data);
  std::string& in = self->input_;
  if (in.empty()) {
    *buf = uv_buf_init(g_shared_read_chunk, kReadChunkBytes);
    return;
  }
  // A frame is half here: read straight behind it so it is joined without another copy.
  size_t used = in.size();
  in.resize(used + kReadChunkBytes);
  *buf = uv_buf_init(in.data() + used, kReadChunkBytes);
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  std::string& in = self->input_;
  const bool shared = buf->base == g_shared_read_chunk;
  if (!shared && buf->base != nullptr) {
    // Drop the unused part of what OnAlloc reserved behind the pending bytes.
    size_t start = static_cast<size_t>(buf->base - in.data());
    in.resize(start + (nread > 0 ? static_cast<size_t>(nread) : 0));
  }
  if (nread < 0) {
    self->Close(nread == UV_EOF ? "peer closed" : uv_strerror(static_cast<int>(nread)),
                CloseCause::kPeer);
    return;
  }
  if (nread == 0) {
    return;
  }
  self->last_recv_ms_ = uv_now(s->loop);
  if (shared) {
    std::string_view data(g_shared_read_chunk, static_cast<size_t>(nread));
    size_t used = self->Consume(data);
    // What is left (a partial frame, or frames refused while paused) must outlive the chunk.
    if (used < data.size() && !self->closing_) {
      in.assign(data.substr(used));
      self->partial_since_ms_ = self->last_recv_ms_;
    }
    return;
  }
  self->TakeFrames();
}

size_t Connection::Consume(std::string_view data) {
  size_t used = 0;
  while (!closing_ && !paused_) {
    FrameHeader header;
    std::string_view body;
    DecodeResult r = DecodeFrame(data.substr(used), limits_.max_frame_bytes, &header, &body);
    if (r == DecodeResult::kNeedMore) {
      break;
    }
    if (r == DecodeResult::kBadLength) {
      log::Get("net")->warn("conn={} peer={} bad frame length {} (allowed 16..{}), closing", id_,
                            peer_, header.length, limits_.max_frame_bytes);
      Close("bad frame length", CloseCause::kBadFrame);
      break;
    }
    if (!owner_->OnFrame(*this, header, body)) {
      // Not taken: the frame stays buffered and is offered again on Resume().
      Pause();
      break;
    }
    used += header.length;
  }
  return used;
}

void Connection::TakeFrames() {
  size_t used = Consume(input_);
  input_.erase(0, used);
  // Give back what a large frame made the buffer grow to once it is gone.
  if (input_.empty()) {
    std::string().swap(input_);
    partial_since_ms_ = 0;
  } else if (used > 0) {
    partial_since_ms_ = uv_now(tcp_->loop);  // the next frame has begun
  }
}

void Connection::Send(std::string frame) {
  if (closing_) {
    return;
  }
  last_send_ms_ = uv_now(tcp_->loop);
  uv_buf_t b = uv_buf_init(frame.data(), static_cast<unsigned>(frame.size()));
  // Most replies fit the socket buffer: try the write in place before allocating a request.
  // (libuv refuses it while earlier writes are queued, so order is kept.)
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &b, 1);
  if (n == static_cast<int>(frame.size())) {
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    Close(uv_strerror(n), CloseCause::kPeer);
    return;
  }
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  // Only what the peer has not taken counts against the bound, so one big answer to a
  // reading peer is fine; a peer that lets answers pile up is cut off.
  if (output_bytes_ + (frame.size() - done) > limits_.max_output_buffer_bytes) {
    log::Get("net")->warn("conn={} peer={} output buffer over {} bytes (peer not reading), closing",
                          id_, peer_, limits_.max_output_buffer_bytes);
    Close("output buffer full", CloseCause::kOutputFull);
    return;
  }
  auto* w = new WriteRequest{{}, frame.substr(done), this};
  output_bytes_ += w->data.size();
  uv_buf_t rest = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &rest, 1, &Connection::OnWrite);
  if (rc != 0) {
    output_bytes_ -= w->data.size();
    delete w;
    Close(uv_strerror(rc), CloseCause::kPeer);
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  Connection* self = w->conn;
  self->output_bytes_ -= w->data.size();
  delete w;
  if (status < 0 && status != UV_ECANCELED) {
    self->Close(uv_strerror(status), CloseCause::kPeer);
  }
}

void Connection::Close(const char* reason, CloseCause cause) {
  if (closing_) {
    return;
  }
  closing_ = true;
  close_cause_ = cause;
  log::Get("net")->debug("conn={} peer={} closing: {}", id_, peer_, reason);
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    // Pending writes were cancelled before this callback; their OnWrite already ran.
    self->owner_->OnClosed(*self);
    delete reinterpret_cast<uv_tcp_t*>(h);
    delete self;
  });
}

}  // namespace dbproxy::net
