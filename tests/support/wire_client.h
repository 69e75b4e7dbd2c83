#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace dbproxy::testing {

// A blocking test client for the db_proxy wire protocol (spec §1): frames are a 16-byte
// big-endian header (length incl. header, version, flag, service id, command id, seq,
// reserved) followed by a protobuf body. Every wait has a timeout; nothing blocks forever.
//
// Frames read while waiting for something else (heartbeats, 0x0702 stop notices, answers
// to other seqs) are queued and returned, in arrival order, by later ReadFrame() calls.
// Thread rule: one thread at a time.
class WireClient {
 public:
  struct Frame {
    uint32_t length = 0;  // whole frame, header included
    uint16_t version = 1;
    uint16_t flag = 0;
    uint16_t service_id = 0;
    uint16_t command_id = 0;
    uint16_t seq = 0;
    uint16_t reserved = 0;
    std::string body;
  };

  static constexpr size_t kHeaderBytes = 16;
  static constexpr uint16_t kHeartbeatCommand = 0x0701;
  // Frames longer than this are treated as a protocol error by ReadFrame().
  static constexpr uint32_t kMaxFrameBytes = 64 * 1024 * 1024;

  // A well-formed frame: version 1, flag 0, reserved 0, length = 16 + body size.
  static Frame MakeFrame(uint16_t service_id, uint16_t command_id, uint16_t seq, std::string body);
  // The frame's bytes. frame.length is written as given (not recomputed), so tests can
  // build frames that lie about their length.
  static std::string EncodeFrame(const Frame& frame);
  // Decodes one frame from the front of bytes; nullopt if fewer than a whole frame is there.
  // REQUIRES: the length field is at least 16 (callers check lengths before).
  static std::optional<Frame> DecodeFrame(std::string_view bytes);

  WireClient() = default;
  // Adopts an already connected socket (e.g. one end of a socketpair) and closes it later.
  explicit WireClient(int connected_fd);
  ~WireClient();
  WireClient(WireClient&& other) noexcept;
  WireClient& operator=(WireClient&& other) noexcept;
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  // Connects to host:port (TCP_NODELAY). False on failure, with the reason in last_error();
  // records no test failure, so tests can expect a refused connection.
  [[nodiscard]] bool Connect(uint16_t port, int timeout_ms = 5000,
                             const std::string& host = "127.0.0.1");
  void Close();

  // Sends a well-formed frame / arbitrary bytes. False if the peer is gone or the timeout
  // passes before everything is written.
  [[nodiscard]] bool SendFrame(uint16_t service_id, uint16_t command_id, uint16_t seq,
                               std::string_view body, int timeout_ms = 5000);
  [[nodiscard]] bool SendRaw(std::string_view bytes, int timeout_ms = 5000);

  // The next frame (queued first, then from the socket), heartbeats included unless
  // skip_heartbeats. nullopt on timeout, peer close (see peer_closed()) or a frame with an
  // impossible length (which also records a test failure).
  std::optional<Frame> ReadFrame(int timeout_ms, bool skip_heartbeats = false);

  // Sends a request with the next seq (1, 2, ... skipping 0, which server-originated frames
  // use) and waits for the non-heartbeat frame carrying that seq. nullopt on timeout or
  // close; records no test failure, so tests can expect silence.
  std::optional<Frame> Call(uint16_t service_id, uint16_t command_id, std::string_view body,
                            int timeout_ms = 5000);

  // Call() with protobuf messages. False (and a test failure saying why) if there is no
  // answer or it does not parse as Rsp. The frame (header included) goes to *frame if given.
  template <class Req, class Rsp>
  bool CallMessage(uint16_t service_id, uint16_t command_id, const Req& request, Rsp* response,
                   int timeout_ms = 5000, Frame* frame = nullptr) {
    std::string body;
    request.SerializeToString(&body);
    std::optional<Frame> answer = Call(service_id, command_id, body, timeout_ms);
    if (!answer) {
      ReportCallFailure(command_id, timeout_ms, "no answer");
      return false;
    }
    if (frame != nullptr) {
      *frame = *answer;
    }
    if (!response->ParseFromString(answer->body)) {
      ReportCallFailure(command_id, timeout_ms,
                        "answer does not parse as " + response->GetTypeName());
      return false;
    }
    return true;
  }

  // True if the peer closes the connection within timeout_ms (or already has). Frames that
  // arrive meanwhile are queued for ReadFrame().
  bool IsClosed(int timeout_ms);

  bool connected() const { return fd_ >= 0; }
  bool peer_closed() const { return peer_closed_; }
  int fd() const { return fd_; }
  const std::string& last_error() const { return last_error_; }
  uint16_t last_seq() const { return last_seq_; }  // the seq the latest Call() used

 private:
  // Appends whatever arrives within timeout_ms to input_; sets peer_closed_ when the peer
  // has gone.
  void Receive(int timeout_ms);
  // Moves every whole frame in input_ to queue_. False on an impossible length.
  bool ParseInput();
  void ReportCallFailure(uint16_t command_id, int timeout_ms, const std::string& why) const;

  int fd_ = -1;
  bool peer_closed_ = false;
  bool broken_ = false;  // a bad length was seen; the stream cannot be resynchronised
  std::string input_;
  std::deque<Frame> queue_;
  uint16_t last_seq_ = 0;
  std::string last_error_;
};

}  // namespace dbproxy::testing
