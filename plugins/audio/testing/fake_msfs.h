#pragma once

// A stand-in for TeamTalk's media server (msfs), run by the audio integration test inside
// its own process: an HTTP/1.1 server on 127.0.0.1:<ephemeral port>, one thread per
// connection, every answer "Connection: close".
//   POST <any path>, multipart/form-data with a part name="file": stores the part's bytes
//     as file n (1, 2, ...) and answers {"error_code":0,"error_msg":"ok","url":
//     "http://127.0.0.1:<port>/f/<n>"} (or the answer set with set_upload_answer)
//   GET /f/<n>: the stored bytes (404 if unknown)
// It can be made slow (every answer waits delay_ms) or taken down (Stop(): the port then
// refuses connections). Thread: all methods from any thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dbproxy::plugins::audio::testing {

class FakeMsfs {
 public:
  struct Upload {
    std::string path;       // request path as received (e.g. "/")
    std::string part_name;  // name="..." of the file part
    std::string filename;   // filename="..." of the file part
    std::string bytes;      // the part's content
  };

  FakeMsfs();  // listening when it returns; throws std::runtime_error if it cannot
  ~FakeMsfs();
  FakeMsfs(const FakeMsfs&) = delete;
  FakeMsfs& operator=(const FakeMsfs&) = delete;

  uint16_t port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>/"

  void set_delay_ms(int ms) { delay_ms_.store(ms); }
  // Replaces the JSON of upload answers (nullopt: the normal answer).
  void set_upload_answer(std::optional<std::string> json);
  // Serves downloads one byte short (to check the size check).
  void set_truncate_downloads(bool on) { truncate_.store(on); }
  // Closes the listening socket and ends open connections: the media server is down.
  void Stop();

  std::vector<Upload> uploads() const;
  // Stores bytes as if uploaded; returns their URL.
  std::string Put(const std::string& bytes);
  size_t gets() const { return gets_.load(); }
  // The most GET requests that were in progress at the same time.
  int max_parallel_gets() const { return max_parallel_gets_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);
  // Waits delay_ms unless stopping. False if stopping.
  bool Delay();

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> truncate_{false};
  std::atomic<size_t> gets_{0};
  std::atomic<int> parallel_gets_{0};
  std::atomic<int> max_parallel_gets_{0};

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::optional<std::string> upload_answer_;
  std::vector<Upload> uploads_;
  std::map<int, std::string> files_;
  int next_file_ = 1;
  std::vector<int> open_fds_;

  std::thread acceptor_;
  std::vector<std::thread> workers_;  // guarded by mu_
};

}  // namespace dbproxy::plugins::audio::testing
