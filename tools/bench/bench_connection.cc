#include "tools/bench/bench_connection.h"

#include <cstdio>
#include <cstdlib>

namespace dbproxy::bench {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;

}  // namespace

BenchConnection::BenchConnection(uv_loop_t* loop, ConnectionOwner* owner,
                                 ConnectionCounters* counters, uint32_t max_in_flight)
    : loop_(loop), owner_(owner), counters_(counters), max_in_flight_(max_in_flight) {}

BenchConnection::~BenchConnection() {
  // libuv still points at tcp_ until the close callback ran; freeing earlier would be a
  // use-after-free. The owner runs the loop until closed() before destroying us.
  if (state_ != State::kIdle && state_ != State::kClosed) {
    std::fprintf(stderr, "dbproxy-bench: connection destroyed before its handle closed\n");
    std::abort();
  }
}

void BenchConnection::Connect(const sockaddr* address) {
  int rc = uv_tcp_init(loop_, &tcp_);
  if (rc != 0) {
    ++counters_->connect_failed;
    owner_->OnConnectDone(*this, false);
    return;
  }
  tcp_.data = this;
  connect_req_.data = this;
  state_ = State::kConnecting;
  rc = uv_tcp_connect(&connect_req_, &tcp_, address, &BenchConnection::OnConnect);
  if (rc != 0) {
    ++counters_->connect_failed;
    state_ = State::kClosing;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &BenchConnection::OnCloseDone);
    owner_->OnConnectDone(*this, false);
  }
}

void BenchConnection::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<BenchConnection*>(req->data);
  if (self->state_ != State::kConnecting) {
    // Close() during connect: libuv reports UV_ECANCELED; the owner was told at Close().
    return;
  }
  if (status != 0) {
    ++self->counters_->connect_failed;
    self->state_ = State::kClosing;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->tcp_), &BenchConnection::OnCloseDone);
    self->owner_->OnConnectDone(*self, false);
    return;
  }
  uv_tcp_nodelay(&self->tcp_, 1);
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_),
                               &BenchConnection::OnAlloc, &BenchConnection::OnRead);
  if (rc != 0) {
    ++self->counters_->connect_failed;
    self->state_ = State::kClosing;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->tcp_), &BenchConnection::OnCloseDone);
    self->owner_->OnConnectDone(*self, false);
    return;
  }
  ++self->counters_->opened;
  self->state_ = State::kOpen;
  self->last_send_ns_ = uv_hrtime();
  self->owner_->OnConnectDone(*self, true);
}

void BenchConnection::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<BenchConnection*>(handle->data);
  // One read is outstanding per handle, so one buffer per connection is enough.
  if (self->read_buffer_.empty()) {
    self->read_buffer_.resize(kReadBufferBytes);
  }
  *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(kReadBufferBytes));
}

void BenchConnection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<BenchConnection*>(stream->data);
  if (nread == 0) {
    return;  // EAGAIN
  }
  if (nread < 0) {
    self->Fail(/*by_peer=*/true);
    return;
  }
  const uint64_t now_ns = uv_hrtime();
  self->reader_.Append(buf->base, static_cast<size_t>(nread));
  FrameReader::Frame frame;
  while (true) {
    const FrameReader::Status status = self->reader_.Next(&frame);
    if (status == FrameReader::kNeedMore) {
      break;
    }
    if (status == FrameReader::kBroken) {
      ++self->counters_->broken_streams;
      self->Fail(/*by_peer=*/false);
      return;
    }
    self->HandleFrame(frame, now_ns);
    if (self->state_ != State::kOpen) {
      return;
    }
  }
  self->Pump();
}

void BenchConnection::HandleFrame(const FrameReader::Frame& frame, uint64_t now_ns) {
  const uint16_t command = frame.header.command_id;
  if (command == cid::kHeartbeat) {
    ++counters_->heartbeats_received;
    SendHeartbeat();
    return;
  }
  if (command == cid::kStopReceive) {
    ++counters_->stop_notices;
    if (!stop_sending_) {
      stop_sending_ = true;
      owner_->OnStopSending(*this);
    }
    return;
  }
  InFlight request;
  switch (table_.Take(frame.header.seq, &request)) {
    case InFlightTable::TakeResult::kMatched: {
      const Verdict verdict = CheckReply(request.params, command, frame.body);
      owner_->OnReply(request, verdict, now_ns - request.sent_ns, now_ns);
      return;
    }
    case InFlightTable::TakeResult::kLate:
      ++counters_->late_replies;
      return;
    case InFlightTable::TakeResult::kUnknown:
      ++counters_->unknown_replies;
      return;
  }
}

void BenchConnection::Pump() {
  if (state_ != State::kOpen || stop_sending_) {
    return;
  }
  std::string batch;
  const uint64_t now_ns = uv_hrtime();
  RequestSpec spec;
  while (table_.live() < max_in_flight_) {
    if (table_.live() + table_.ghosts() >= InFlightTable::kMaxEntries) {
      ++counters_->seq_exhausted;
      break;
    }
    if (!owner_->NextRequest(&spec)) {
      break;
    }
    // Cannot fail: the table has room (checked above).
    const std::optional<uint16_t> seq = table_.Insert(spec.params, spec.phase, now_ns);
    AppendFrame(spec.service_id, spec.command_id, *seq, spec.body, &batch);
  }
  if (!batch.empty()) {
    Write(std::move(batch));
  }
}

void BenchConnection::Tick(uint64_t now_ns, uint64_t timeout_ns) {
  if (state_ != State::kOpen) {
    return;
  }
  scratch_.clear();
  table_.Expire(now_ns, timeout_ns, &scratch_);
  for (const InFlight& request : scratch_) {
    owner_->OnNoReply(request, Failure::kTimeout, now_ns);
  }
  if (now_ns - last_send_ns_ >= kIdleHeartbeatNs) {
    SendHeartbeat();
  }
  Pump();
}

void BenchConnection::SendHeartbeat() {
  std::string frame;
  AppendFrame(sid::kOther, cid::kHeartbeat, 0, {}, &frame);
  ++counters_->heartbeats_sent;
  Write(std::move(frame));
}

void BenchConnection::Write(std::string data) {
  auto* write = new WriteRequest;
  write->data = std::move(data);
  write->req.data = this;
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  const int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                          &BenchConnection::OnWrite);
  if (rc != 0) {
    delete write;
    Fail(/*by_peer=*/true);
    return;
  }
  last_send_ns_ = uv_hrtime();
}

void BenchConnection::OnWrite(uv_write_t* req, int status) {
  auto* write = reinterpret_cast<WriteRequest*>(req);
  auto* self = static_cast<BenchConnection*>(req->data);
  delete write;
  // UV_ECANCELED: we are closing; nothing to report.
  if (status != 0 && status != UV_ECANCELED) {
    self->Fail(/*by_peer=*/true);
  }
}

void BenchConnection::Close() {
  if (state_ == State::kConnecting) {
    state_ = State::kClosing;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &BenchConnection::OnCloseDone);
    owner_->OnConnectDone(*this, false);
    return;
  }
  if (state_ == State::kOpen) {
    Fail(/*by_peer=*/false);
  }
}

void BenchConnection::Fail(bool by_peer) {
  if (state_ != State::kOpen) {
    return;
  }
  if (by_peer) {
    ++counters_->closed_by_peer;
  }
  state_ = State::kClosing;
  const uint64_t now_ns = uv_hrtime();
  scratch_.clear();
  table_.Clear(&scratch_);
  for (const InFlight& request : scratch_) {
    owner_->OnNoReply(request, Failure::kMissingReply, now_ns);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &BenchConnection::OnCloseDone);
  owner_->OnClosed(*this);
}

void BenchConnection::OnCloseDone(uv_handle_t* handle) {
  auto* self = static_cast<BenchConnection*>(handle->data);
  self->state_ = State::kClosed;
}

}  // namespace dbproxy::bench
