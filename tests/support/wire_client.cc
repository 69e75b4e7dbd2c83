#include "tests/support/wire_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include <gtest/gtest.h>

namespace dbproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

void PutU16(std::string* out, uint16_t value) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value & 0xff));
}

void PutU32(std::string* out, uint32_t value) {
  PutU16(out, static_cast<uint16_t>(value >> 16));
  PutU16(out, static_cast<uint16_t>(value & 0xffff));
}

uint16_t GetU16(std::string_view bytes, size_t offset) {
  return static_cast<uint16_t>((static_cast<uint8_t>(bytes[offset]) << 8) |
                               static_cast<uint8_t>(bytes[offset + 1]));
}

uint32_t GetU32(std::string_view bytes, size_t offset) {
  return (static_cast<uint32_t>(GetU16(bytes, offset)) << 16) | GetU16(bytes, offset + 2);
}

uint32_t PeekLength(std::string_view bytes) { return GetU32(bytes, 0); }

// Milliseconds left until deadline, never negative; poll() takes an int.
int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

Clock::time_point DeadlineIn(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(timeout_ms);
}

void SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string Hex(uint16_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04x", value);
  return text;
}

}  // namespace

WireClient::Frame WireClient::MakeFrame(uint16_t service_id, uint16_t command_id, uint16_t seq,
                                        std::string body) {
  Frame frame;
  frame.length = static_cast<uint32_t>(kHeaderBytes + body.size());
  frame.service_id = service_id;
  frame.command_id = command_id;
  frame.seq = seq;
  frame.body = std::move(body);
  return frame;
}

std::string WireClient::EncodeFrame(const Frame& frame) {
  std::string out;
  out.reserve(kHeaderBytes + frame.body.size());
  PutU32(&out, frame.length);
  PutU16(&out, frame.version);
  PutU16(&out, frame.flag);
  PutU16(&out, frame.service_id);
  PutU16(&out, frame.command_id);
  PutU16(&out, frame.seq);
  PutU16(&out, frame.reserved);
  out += frame.body;
  return out;
}

std::optional<WireClient::Frame> WireClient::DecodeFrame(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) {
    return std::nullopt;
  }
  Frame frame;
  frame.length = PeekLength(bytes);
  if (frame.length < kHeaderBytes || bytes.size() < frame.length) {
    return std::nullopt;
  }
  frame.version = GetU16(bytes, 4);
  frame.flag = GetU16(bytes, 6);
  frame.service_id = GetU16(bytes, 8);
  frame.command_id = GetU16(bytes, 10);
  frame.seq = GetU16(bytes, 12);
  frame.reserved = GetU16(bytes, 14);
  frame.body.assign(bytes.substr(kHeaderBytes, frame.length - kHeaderBytes));
  return frame;
}

WireClient::WireClient(int connected_fd) : fd_(connected_fd) { SetNonBlocking(fd_); }

WireClient::~WireClient() { Close(); }

WireClient::WireClient(WireClient&& other) noexcept { *this = std::move(other); }

WireClient& WireClient::operator=(WireClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    peer_closed_ = other.peer_closed_;
    broken_ = other.broken_;
    input_ = std::move(other.input_);
    queue_ = std::move(other.queue_);
    last_seq_ = other.last_seq_;
    last_error_ = std::move(other.last_error_);
  }
  return *this;
}

bool WireClient::Connect(uint16_t port, int timeout_ms, const std::string& host) {
  Close();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    last_error_ = "not an IPv4 address: " + host;
    return false;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    last_error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS) {
    last_error_ = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return false;
  }
  pollfd waiting{fd, POLLOUT, 0};
  int ready = poll(&waiting, 1, timeout_ms);
  int error = 0;
  socklen_t error_size = sizeof error;
  if (ready <= 0) {
    error = ready == 0 ? ETIMEDOUT : errno;
  } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_size) != 0) {
    error = errno;
  }
  if (error != 0) {
    last_error_ = "connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(error);
    close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

void WireClient::Close() {
  if (fd_ >= 0) {
    close(fd_);
  }
  fd_ = -1;
  peer_closed_ = false;
  broken_ = false;
  input_.clear();
  queue_.clear();
}

bool WireClient::SendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq,
                           std::string_view body, int timeout_ms) {
  return SendRaw(EncodeFrame(MakeFrame(service_id, command_id, seq, std::string(body))),
                 timeout_ms);
}

bool WireClient::SendRaw(std::string_view bytes, int timeout_ms) {
  if (fd_ < 0) {
    last_error_ = "not connected";
    return false;
  }
  Clock::time_point deadline = DeadlineIn(timeout_ms);
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that closed must fail this call, not kill the test with SIGPIPE.
    ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd waiting{fd_, POLLOUT, 0};
      if (poll(&waiting, 1, RemainingMs(deadline)) <= 0) {
        last_error_ = "send: timed out";
        return false;
      }
      continue;
    }
    last_error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void WireClient::Receive(int timeout_ms) {
  if (fd_ < 0 || peer_closed_) {
    return;
  }
  pollfd waiting{fd_, POLLIN, 0};
  if (poll(&waiting, 1, timeout_ms) <= 0) {
    return;  // timeout, or EINTR: callers loop until their deadline
  }
  char buffer[64 * 1024];
  while (true) {
    ssize_t received = recv(fd_, buffer, sizeof buffer, 0);
    if (received > 0) {
      input_.append(buffer, static_cast<size_t>(received));
      continue;  // drain what the kernel has, so one wake-up parses all of it
    }
    if (received < 0 && errno == EINTR) {
      continue;
    }
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    // 0 is an orderly close; ECONNRESET and friends end the connection just the same.
    last_error_ = received == 0 ? "closed by peer" : std::string("recv: ") + std::strerror(errno);
    peer_closed_ = true;
    return;
  }
}

bool WireClient::ParseInput() {
  while (!broken_ && input_.size() >= kHeaderBytes) {
    uint32_t length = PeekLength(input_);
    if (length < kHeaderBytes || length > kMaxFrameBytes) {
      broken_ = true;
      ADD_FAILURE() << "WireClient: peer sent a frame with length " << length;
      return false;
    }
    std::optional<Frame> frame = DecodeFrame(input_);
    if (!frame) {
      return true;  // the rest has not arrived yet
    }
    input_.erase(0, frame->length);
    queue_.push_back(std::move(*frame));
  }
  return !broken_;
}

// The read loops below share one shape: parse what has arrived, look for what we want,
// give up if the peer is gone or the deadline has passed, otherwise wait for more bytes. The
// last round polls with a zero timeout, so a zero timeout still looks once.

std::optional<WireClient::Frame> WireClient::ReadFrame(int timeout_ms, bool skip_heartbeats) {
  Clock::time_point deadline = DeadlineIn(timeout_ms);
  bool last_round = false;
  while (true) {
    if (!ParseInput()) {
      return std::nullopt;
    }
    while (!queue_.empty()) {
      Frame frame = std::move(queue_.front());
      queue_.pop_front();
      if (!(skip_heartbeats && frame.command_id == kHeartbeatCommand)) {
        return frame;
      }
    }
    if (fd_ < 0 || peer_closed_ || last_round) {
      return std::nullopt;
    }
    int left_ms = RemainingMs(deadline);
    last_round = left_ms == 0;
    Receive(left_ms);  // the next round sees what it brought
  }
}

std::optional<WireClient::Frame> WireClient::Call(uint16_t service_id, uint16_t command_id,
                                                  std::string_view body, int timeout_ms) {
  last_seq_ = static_cast<uint16_t>(last_seq_ + 1);
  if (last_seq_ == 0) {
    last_seq_ = 1;
  }
  uint16_t seq = last_seq_;
  Clock::time_point deadline = DeadlineIn(timeout_ms);
  if (!SendFrame(service_id, command_id, seq, body, timeout_ms)) {
    return std::nullopt;
  }
  size_t checked = 0;  // queue_ entries already known not to be the answer
  bool last_round = false;
  while (true) {
    if (!ParseInput()) {
      return std::nullopt;
    }
    for (; checked < queue_.size(); ++checked) {
      if (queue_[checked].seq == seq && queue_[checked].command_id != kHeartbeatCommand) {
        Frame answer = std::move(queue_[checked]);
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(checked));
        return answer;
      }
    }
    if (fd_ < 0 || peer_closed_ || last_round) {
      return std::nullopt;
    }
    int left_ms = RemainingMs(deadline);
    last_round = left_ms == 0;
    Receive(left_ms);
  }
}

bool WireClient::IsClosed(int timeout_ms) {
  Clock::time_point deadline = DeadlineIn(timeout_ms);
  bool last_round = false;
  while (true) {
    if (fd_ < 0 || peer_closed_) {
      return true;
    }
    if (last_round) {
      return false;
    }
    int left_ms = RemainingMs(deadline);
    last_round = left_ms == 0;
    Receive(left_ms);
    (void)ParseInput();  // keep frames for ReadFrame(); a bad length was already reported
  }
}

void WireClient::ReportCallFailure(uint16_t command_id, int timeout_ms,
                                   const std::string& why) const {
  ADD_FAILURE() << "WireClient: command " << Hex(command_id) << " seq " << last_seq_ << ": " << why
                << " (timeout " << timeout_ms << " ms"
                << (peer_closed_ ? ", connection closed by peer" : "") << ")";
}

}  // namespace dbproxy::testing
