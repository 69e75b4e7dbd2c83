#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dbproxy::testing {
namespace {

// Bytes buffered per direction before the proxy stops reading that side.
constexpr size_t kMaxBuffered = 1 << 20;
constexpr size_t kReadChunk = 64 * 1024;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

void SetNonBlocking(int fd) { (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

// Closes with an RST instead of a FIN: what a peer sees when a server dies.
void Reset(int fd) {
  if (fd < 0) {
    return;
  }
  linger hard{1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  (void)close(fd);
}

}  // namespace

class TcpProxy::Impl {
 public:
  Impl(std::string target_host, uint16_t target_port)
      : target_host_(std::move(target_host)), target_port_(target_port) {}

  ~Impl() {
    if (thread_.joinable()) {
      (void)Send(Command::kStop);
      thread_.join();
    }
    for (int fd : wake_) {
      if (fd >= 0) {
        (void)close(fd);
      }
    }
  }

  // Opens the wake-up pipe and the listening socket, then starts the thread.
  bool Begin(std::string* error) {
    if (pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
      *error = Errno("pipe2");
      return false;
    }
    if (!Listen(0, error)) {
      return false;
    }
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  uint16_t port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t open() const { return open_.load(std::memory_order_relaxed); }
  bool armed_cut_done() const { return armed_cut_done_.load(); }

  enum class Command { kNone, kCut, kRestore, kStop, kArm };

  // Hands a command to the proxy thread and waits until it has been carried out.
  // Returns the command's result (Restore: listening again). kArm takes `armed`.
  bool Send(Command command, std::string armed = "") {
    std::unique_lock<std::mutex> lock(mu_);
    pending_ = command;
    pending_armed_ = std::move(armed);
    const char byte = 1;
    (void)write(wake_[1], &byte, 1);  // a full pipe already means "wake up"
    done_cv_.wait(lock, [this] { return pending_ == Command::kNone; });
    return result_;
  }

  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  struct Pair {
    int client = -1;
    int server = -1;
    std::string to_server;
    std::string to_client;
    bool client_eof = false;
    bool server_eof = false;
    bool server_shut = false;    // FIN passed on to the server
    bool client_shut = false;    // FIN passed on to the client
    bool answer_doomed = false;  // sent the armed request: its answer ends in a cut
  };

  // Binds 127.0.0.1:port (0: any free port) and listens. Proxy thread, or Begin().
  bool Listen(uint16_t port, std::string* error) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *error = Errno("socket");
      return false;
    }
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
      *error = Errno("bind/listen 127.0.0.1:" + std::to_string(port));
      (void)close(fd);
      return false;
    }
    if (port == 0) {  // only Begin() asks for any port; Restore() reuses it
      socklen_t len = sizeof(addr);
      (void)getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    }
    listen_fd_ = fd;
    return true;
  }

  // A blocking connect to the target (loopback: immediate), then non-blocking. -1 on failure.
  int ConnectTarget() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(target_port_);
    if (inet_pton(AF_INET, target_host_.c_str(), &addr.sin_addr) != 1 ||
        connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      (void)close(fd);
      return -1;
    }
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetNonBlocking(fd);
    return fd;
  }

  void AcceptAll() {
    for (;;) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) {
        return;  // EAGAIN, or an aborted connection: nothing more to take now
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      int server = ConnectTarget();
      if (server < 0) {
        Reset(client);
        continue;
      }
      const int one = 1;
      (void)setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Pair pair;
      pair.client = client;
      pair.server = server;
      pairs_.push_back(std::move(pair));
      open_.store(pairs_.size(), std::memory_order_relaxed);
    }
  }

  void ResetAll() {
    for (Pair& pair : pairs_) {
      Reset(pair.client);
      Reset(pair.server);
    }
    pairs_.clear();
    open_.store(0, std::memory_order_relaxed);
  }

  // Moves bytes from `from` into `buffer`. False when the pair must be reset.
  static bool ReadInto(int from, std::string* buffer, bool* eof) {
    char chunk[kReadChunk];
    while (buffer->size() < kMaxBuffered) {
      ssize_t n = read(from, chunk, sizeof(chunk));
      if (n > 0) {
        buffer->append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        *eof = true;
        return true;
      }
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
  }

  // Writes what it can of `buffer` to `to`. False when the pair must be reset.
  static bool WriteFrom(int to, std::string* buffer) {
    while (!buffer->empty()) {
      ssize_t n = send(to, buffer->data(), buffer->size(), MSG_NOSIGNAL);
      if (n > 0) {
        buffer->erase(0, static_cast<size_t>(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
    return true;
  }

  enum class State { kOpen, kClosed, kFailed, kCutAll };

  // One poll round's work for a pair.
  State Pump(Pair& pair, short client_events, short server_events) {
    bool ok = true;
    if ((client_events & (POLLIN | POLLHUP | POLLERR)) != 0 && !pair.client_eof) {
      ok = ok && ReadInto(pair.client, &pair.to_server, &pair.client_eof);
    }
    if (!armed_.empty() && pair.to_server.find(armed_) != std::string::npos) {
      pair.answer_doomed = true;
      armed_.clear();
    }
    if ((server_events & (POLLIN | POLLHUP | POLLERR)) != 0 && !pair.server_eof) {
      ok = ok && ReadInto(pair.server, &pair.to_client, &pair.server_eof);
    }
    if (pair.answer_doomed && !pair.to_client.empty()) {
      return State::kCutAll;  // the server answered the armed request: drop it and cut
    }
    ok = ok && WriteFrom(pair.server, &pair.to_server) && WriteFrom(pair.client, &pair.to_client);
    if (!ok) {
      return State::kFailed;
    }
    // Pass a half-close on once everything before it is delivered.
    if (pair.client_eof && pair.to_server.empty() && !pair.server_shut) {
      (void)shutdown(pair.server, SHUT_WR);
      pair.server_shut = true;
    }
    if (pair.server_eof && pair.to_client.empty() && !pair.client_shut) {
      (void)shutdown(pair.client, SHUT_WR);
      pair.client_shut = true;
    }
    return pair.server_shut && pair.client_shut ? State::kClosed : State::kOpen;
  }

  // Carries out a pending command. Returns false when the thread must end.
  bool HandleCommand() {
    char drain[64];
    while (read(wake_[0], drain, sizeof(drain)) > 0) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    bool keep_running = true;
    switch (pending_) {
      case Command::kNone:
        return true;
      case Command::kCut:
        ResetAll();
        if (listen_fd_ >= 0) {
          (void)close(listen_fd_);
          listen_fd_ = -1;
        }
        result_ = true;
        break;
      case Command::kRestore:
        result_ = listen_fd_ >= 0 || Listen(port_, &error_);
        break;
      case Command::kArm:
        armed_ = pending_armed_;
        armed_cut_done_ = false;
        result_ = true;
        break;
      case Command::kStop:
        ResetAll();
        if (listen_fd_ >= 0) {
          (void)close(listen_fd_);
          listen_fd_ = -1;
        }
        result_ = true;
        keep_running = false;
        break;
    }
    pending_ = Command::kNone;
    done_cv_.notify_all();
    return keep_running;
  }

  void Run() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});  // poll ignores a negative fd
      for (const Pair& pair : pairs_) {
        short client = 0;
        short server = 0;
        if (!pair.client_eof && pair.to_server.size() < kMaxBuffered) {
          client |= POLLIN;
        }
        if (!pair.to_client.empty()) {
          client |= POLLOUT;
        }
        if (!pair.server_eof && pair.to_client.size() < kMaxBuffered) {
          server |= POLLIN;
        }
        if (!pair.to_server.empty()) {
          server |= POLLOUT;
        }
        fds.push_back({pair.client, client, 0});
        fds.push_back({pair.server, server, 0});
      }
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        ADD_FAILURE() << Errno("TcpProxy poll");
        return;
      }
      size_t i = 2;
      bool cut_all = false;
      for (auto it = pairs_.begin(); it != pairs_.end(); i += 2) {
        const State state = Pump(*it, fds[i].revents, fds[i + 1].revents);
        if (state == State::kCutAll) {
          cut_all = true;
          break;
        }
        if (state == State::kOpen) {
          ++it;
          continue;
        }
        if (state == State::kFailed) {  // one side reset: reset the other too
          Reset(it->client);
          Reset(it->server);
        } else {
          (void)close(it->client);
          (void)close(it->server);
        }
        it = pairs_.erase(it);
      }
      if (cut_all) {  // as Cut(): every connection reset, new ones refused
        // Set first: the client may see the reset and answer its caller, who then asks,
        // before this thread gets past ResetAll().
        armed_cut_done_ = true;
        ResetAll();
        if (listen_fd_ >= 0) {
          (void)close(listen_fd_);
          listen_fd_ = -1;
        }
        continue;
      }
      open_.store(pairs_.size(), std::memory_order_relaxed);
      if (listen_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
        AcceptAll();
      }
      if ((fds[0].revents & POLLIN) != 0 && !HandleCommand()) {
        return;
      }
    }
  }

  const std::string target_host_;
  const uint16_t target_port_;
  uint16_t port_ = 0;  // set before the thread starts, then constant
  int wake_[2] = {-1, -1};
  int listen_fd_ = -1;     // proxy thread (and Begin() before it starts)
  std::list<Pair> pairs_;  // proxy thread only
  std::thread thread_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> open_{0};
  std::string armed_;  // proxy thread only: the request whose answer ends in a cut
  std::atomic<bool> armed_cut_done_{false};

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  Command pending_ = Command::kNone;  // guarded by mu_
  std::string pending_armed_;         // guarded by mu_
  bool result_ = false;               // guarded by mu_
  std::string error_;                 // guarded by mu_
};

std::unique_ptr<TcpProxy> TcpProxy::Start(const std::string& target_host, uint16_t target_port) {
  auto impl = std::make_unique<Impl>(target_host, target_port);
  std::string error;
  if (!impl->Begin(&error)) {
    ADD_FAILURE() << "TcpProxy to " << target_host << ":" << target_port << ": " << error;
    throw std::runtime_error("cannot start TcpProxy");
  }
  return std::unique_ptr<TcpProxy>(new TcpProxy(std::move(impl)));
}

TcpProxy::TcpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpProxy::~TcpProxy() = default;

uint16_t TcpProxy::port() const { return impl_->port(); }

void TcpProxy::Cut() { (void)impl_->Send(Impl::Command::kCut); }

bool TcpProxy::Restore() {
  if (impl_->Send(Impl::Command::kRestore)) {
    return true;
  }
  ADD_FAILURE() << "TcpProxy::Restore: " << impl_->last_error();
  return false;
}

void TcpProxy::CutAfterAnswerTo(std::string request) {
  (void)impl_->Send(Impl::Command::kArm, std::move(request));
}

bool TcpProxy::armed_cut_done() const { return impl_->armed_cut_done(); }

uint64_t TcpProxy::accepted() const { return impl_->accepted(); }

uint64_t TcpProxy::open_connections() const { return impl_->open(); }

}  // namespace dbproxy::testing
