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

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  // Reads land directly at the end of input_, so a frame split over reads is joined without
  // an extra copy; the buffer is bounded by one frame plus one chunk.
  auto* self = static_cast<Connection*>(h->data);
  std::string& in = self->input_;
  if (self->input_offset_ > 0 && self->input_offset_ == in.size()) {
    in.clear();
    self->input_offset_ = 0;
  }
  size_t used = in.size();
  in.resize(used + kReadChunkBytes);
  *buf = uv_buf_init(in.data() + used, kReadChunkBytes);
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  std::string& in = self->input_;
  size_t start = static_cast<size_t>(buf->base - in.data());
  if (nread < 0) {
    in.resize(start);
    self->Close(nread == UV_EOF ? "peer closed" : uv_strerror(static_cast<int>(nread)));
    return;
  }
  in.resize(start + static_cast<size_t>(nread));
  if (nread == 0) {
    return;
  }
  self->last_recv_ms_ = uv_now(s->loop);
  self->TakeFrames();
}

void Connection::TakeFrames() {
  while (!closing_ && !paused_) {
    std::string_view rest(input_.data() + input_offset_, input_.size() - input_offset_);
    FrameHeader header;
    std::string_view body;
    DecodeResult r = DecodeFrame(rest, limits_.max_frame_bytes, &header, &body);
    if (r == DecodeResult::kNeedMore) {
      break;
    }
    if (r == DecodeResult::kBadLength) {
      log::Get("net")->warn("conn={} peer={} bad frame length {} (allowed 16..{}), closing", id_,
                            peer_, header.length, limits_.max_frame_bytes);
      Close("bad frame length");
      return;
    }
    if (!owner_->OnFrame(*this, header, body)) {
      // Not taken: the frame stays buffered and is offered again on Resume().
      Pause();
      break;
    }
    input_offset_ += header.length;
  }
  // Compact so the buffer never holds more than the unparsed tail.
  if (input_offset_ > 0) {
    input_.erase(0, input_offset_);
    input_offset_ = 0;
  }
}

void Connection::Send(std::string frame) {
  if (closing_) {
    return;
  }
  if (output_bytes_ + frame.size() > limits_.max_output_buffer_bytes) {
    log::Get("net")->warn("conn={} peer={} output buffer over {} bytes (peer not reading), closing",
                          id_, peer_, limits_.max_output_buffer_bytes);
    Close("output buffer full");
    return;
  }
  last_send_ms_ = uv_now(tcp_->loop);
  uv_buf_t b = uv_buf_init(frame.data(), static_cast<unsigned>(frame.size()));
  // Most replies fit the socket buffer: try the write in place before allocating a request.
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &b, 1);
  if (n == static_cast<int>(frame.size())) {
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    Close(uv_strerror(n));
    return;
  }
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  auto* w = new WriteRequest{{}, frame.substr(done), this};
  output_bytes_ += w->data.size();
  uv_buf_t rest = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &rest, 1, &Connection::OnWrite);
  if (rc != 0) {
    output_bytes_ -= w->data.size();
    delete w;
    Close(uv_strerror(rc));
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  Connection* self = w->conn;
  self->output_bytes_ -= w->data.size();
  delete w;
  if (status < 0 && status != UV_ECANCELED) {
    self->Close(uv_strerror(status));
  }
}

void Connection::Close(const char* reason) {
  if (closing_) {
    return;
  }
  closing_ = true;
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
