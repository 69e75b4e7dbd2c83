#include "tests/fault/non_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace dbproxy::testing::fault {

NonReader::~NonReader() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

bool NonReader::Connect(uint16_t port, int send_timeout_ms) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    return false;
  }
  // Set before connect so the advertised window stays small.
  int small = 4096;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  timeval tv{send_timeout_ms / 1000, (send_timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return false;
  }
  sockaddr_in local{};
  socklen_t len = sizeof local;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
  local_port_ = ntohs(local.sin_port);
  return true;
}

bool NonReader::Send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      timed_out_ = true;
      return false;
    }
    if (n <= 0) {
      return false;  // closed or reset by the daemon
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

long NonReader::DrainUntilClosed(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  long total = 0;
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      continue;
    }
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      return total;  // EOF or reset: closed
    }
    total += n;
  }
  return -1;
}

}  // namespace dbproxy::testing::fault
