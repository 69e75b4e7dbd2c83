#pragma once

// A client socket that sends requests and never reads its answers: a 4 KiB receive buffer,
// so nearly all of the daemon's answers stay on the daemon's side and count against its
// per-connection output limit (server.max_output_buffer_bytes). Shared by the slow-peer and
// abuse suites. Thread rule: one thread at a time.

#include <cstdint>
#include <string>

namespace dbproxy::testing::fault {

class NonReader {
 public:
  NonReader() = default;
  ~NonReader();
  NonReader(const NonReader&) = delete;
  NonReader& operator=(const NonReader&) = delete;

  // Connects to 127.0.0.1:port. Sends block for at most send_timeout_ms each (the daemon may
  // stop reading this peer); False if the connection fails.
  [[nodiscard]] bool Connect(uint16_t port, int send_timeout_ms = 10000);

  // Writes all of bytes. False once the daemon has closed or reset the connection, or a
  // write waits longer than the send timeout (see timed_out()).
  bool Send(const std::string& bytes);
  bool timed_out() const { return timed_out_; }

  // Reads (and discards) until the daemon closes; the bytes read, or -1 if the connection
  // is still open at the deadline.
  long DrainUntilClosed(int timeout_ms);

  // The client's own port: the daemon's log names a peer as 127.0.0.1:<this>.
  uint16_t local_port() const { return local_port_; }

 private:
  int fd_ = -1;
  uint16_t local_port_ = 0;
  bool timed_out_ = false;
};

}  // namespace dbproxy::testing::fault
