#include "plugins/audio/testing/fake_msfs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace dbproxy::plugins::audio::testing {
namespace {

// Reads until the peer closes, the deadline passes, or need() says the request is whole.
template <typename Done>
bool ReadRequest(int fd, std::string* in, Done done, const std::atomic<bool>& stopping) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[16384];
  while (!done(*in)) {
    if (stopping.load() || std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      continue;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    in->append(buf, static_cast<size_t>(n));
  }
  return true;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Answer(int status, std::string_view reason, std::string_view type,
                   std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out.append(body);
  return out;
}

// The value of a header (case-insensitive name) in the head of a request.
std::string Header(std::string_view head, std::string_view name) {
  size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    size_t colon = head.find(':', at);
    size_t eol = head.find("\r\n", at);
    if (colon == std::string_view::npos || (eol != std::string_view::npos && colon > eol)) {
      continue;
    }
    std::string_view key = head.substr(at, colon - at);
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      std::string_view value = head.substr(colon + 1, eol - colon - 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      return std::string(value);
    }
  }
  return "";
}

// A quoted attribute (name="...") inside a part header.
std::string Attribute(std::string_view headers, std::string_view attr) {
  std::string key = std::string(attr) + "=\"";
  size_t at = headers.find(key);
  if (at == std::string_view::npos) {
    return "";
  }
  at += key.size();
  size_t end = headers.find('"', at);
  return std::string(headers.substr(at, end - at));
}

}  // namespace

FakeMsfs::FakeMsfs() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("fake msfs: cannot listen: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeMsfs::~FakeMsfs() {
  Stop();
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) {
    t.join();
  }
}

std::string FakeMsfs::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

void FakeMsfs::set_upload_answer(std::optional<std::string> json) {
  std::lock_guard<std::mutex> lock(mu_);
  upload_answer_ = std::move(json);
}

void FakeMsfs::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // shutdown() wakes the acceptor's poll; close() happens in the acceptor.
  shutdown(listen_fd_, SHUT_RDWR);
  for (int fd : open_fds_) {
    shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
}

std::vector<FakeMsfs::Upload> FakeMsfs::uploads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploads_;
}

std::string FakeMsfs::Put(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = next_file_++;
  files_[n] = bytes;
  return base_url() + "f/" + std::to_string(n);
}

bool FakeMsfs::Delay() {
  int ms = delay_ms_.load();
  if (ms <= 0) {
    return !stopping_.load();
  }
  std::unique_lock<std::mutex> lock(mu_);
  stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
  return !stopping_.load();
}

void FakeMsfs::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      continue;
    }
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) {
      close(fd);
      break;
    }
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
  close(listen_fd_);
}

void FakeMsfs::Serve(int fd) {
  std::string in;
  size_t head_end = std::string::npos;
  size_t body_len = 0;
  auto whole = [&](const std::string& buf) {
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        return false;
      }
      std::string length = Header(std::string_view(buf).substr(0, head_end + 2), "Content-Length");
      body_len = length.empty() ? 0 : std::stoul(length);
    }
    return buf.size() >= head_end + 4 + body_len;
  };
  if (ReadRequest(fd, &in, whole, stopping_)) {
    std::string_view head = std::string_view(in).substr(0, head_end + 2);
    std::string_view body = std::string_view(in).substr(head_end + 4, body_len);
    size_t sp1 = head.find(' ');
    size_t sp2 = head.find(' ', sp1 + 1);
    std::string method(head.substr(0, sp1));
    std::string path(head.substr(sp1 + 1, sp2 - sp1 - 1));

    if (method == "GET") {
      int now = parallel_gets_.fetch_add(1) + 1;
      int prev = max_parallel_gets_.load();
      while (now > prev && !max_parallel_gets_.compare_exchange_weak(prev, now)) {
      }
      ++gets_;
      bool go = Delay();
      std::optional<std::string> file;
      if (path.rfind("/f/", 0) == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = files_.find(std::atoi(path.c_str() + 3));
        if (it != files_.end()) {
          file = it->second;
        }
      }
      if (go) {
        if (!file) {
          WriteAll(fd, Answer(404, "Not Found", "text/plain", "no such file"));
        } else {
          if (truncate_.load() && !file->empty()) {
            file->pop_back();
          }
          WriteAll(fd, Answer(200, "OK", "application/octet-stream", *file));
        }
      }
      parallel_gets_.fetch_sub(1);
    } else if (method == "POST") {
      std::string type = Header(head, "Content-Type");
      size_t b = type.find("boundary=");
      std::string boundary = b == std::string::npos ? "" : type.substr(b + 9);
      if (!boundary.empty() && boundary.front() == '"') {
        boundary = boundary.substr(1, boundary.size() - 2);
      }
      Upload up;
      up.path = path;
      std::string delim = "--" + boundary;
      size_t at = boundary.empty() ? std::string_view::npos : body.find(delim);
      while (at != std::string_view::npos) {
        size_t part_head = at + delim.size() + 2;  // past "\r\n"
        size_t part_head_end = body.find("\r\n\r\n", part_head);
        if (part_head_end == std::string_view::npos) {
          break;
        }
        size_t next = body.find("\r\n" + delim, part_head_end + 4);
        if (next == std::string_view::npos) {
          break;
        }
        std::string_view headers = body.substr(part_head, part_head_end - part_head);
        if (Attribute(headers, "name") == "file") {
          up.part_name = "file";
          up.filename = Attribute(headers, "filename");
          up.bytes = std::string(body.substr(part_head_end + 4, next - part_head_end - 4));
        }
        at = next + 2;
      }
      bool go = Delay();
      std::string json;
      {
        std::lock_guard<std::mutex> lock(mu_);
        int n = next_file_++;
        files_[n] = up.bytes;
        uploads_.push_back(up);
        json = upload_answer_
                   ? *upload_answer_
                   : "{\"error_code\":0,\"error_msg\":\"ok\",\"path\":\"f/" + std::to_string(n) +
                         "\",\"url\":\"" + base_url() + "f/" + std::to_string(n) + "\"}";
      }
      if (go) {
        WriteAll(fd, Answer(200, "OK", "application/json", json));
      }
    } else {
      WriteAll(fd, Answer(405, "Method Not Allowed", "text/plain", ""));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  close(fd);
}

}  // namespace dbproxy::plugins::audio::testing
