#include "tests/cluster/send_load.h"

#include <algorithm>
#include <cstdio>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"

namespace dbproxy::testing::cluster {

SendRecord NthSend(const std::string& tag, int n, int first_contact_base) {
  SendRecord send;
  const int kind = n % 10;
  if (kind < 7) {
    const int pair = (n * 7 + first_contact_base / 1000) % kPairs;
    const uint32_t a = 101 + pair;
    const uint32_t b = 201 + pair;
    send.from = (n / 10) % 2 == 0 ? a : b;
    send.to = send.from == a ? b : a;
  } else if (kind < 9) {
    send.group = true;
    send.to = kGroup;
    send.from = 1 + (n + first_contact_base / 1000) % 10;
  } else {
    const int k = first_contact_base + n / 10;
    send.from = 301 + k % 300;
    send.to = 601 + k / 300 % 300;
  }
  send.content = tag + " n" + std::to_string(n);
  return send;
}

std::string EncodeSend(const SendRecord& send, int n) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(send.from);
  m.set_to_session_id(send.to);
  m.set_msg_id(0);
  m.set_create_time(1700000000u + static_cast<uint32_t>(n));
  m.set_msg_type(send.group ? IM::BaseDefine::MSG_TYPE_GROUP_TEXT
                            : IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  m.set_msg_data(send.content);
  return m.SerializeAsString();
}

std::optional<uint32_t> AnsweredMsgId(std::string_view body) {
  IM::Message::IMMsgData r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return std::nullopt;
  }
  return r.msg_id();
}

void Timeline::Record(const Sample& sample) {
  std::lock_guard<std::mutex> lock(mutex_);
  samples_.push_back(sample);
}

std::vector<Sample> Timeline::samples() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return samples_;
}

Timeline::Window Timeline::Between(Clock::time_point from, Clock::time_point to, int daemon) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Window w;
  w.seconds = std::chrono::duration<double>(to - from).count();
  for (const Sample& s : samples_) {
    if (s.sent < from || s.sent >= to || (daemon >= 0 && s.daemon != daemon)) {
      continue;
    }
    ++(s.outcome == Outcome::kAnswered       ? w.answered
       : s.outcome == Outcome::kAnsweredZero ? w.zero
                                             : w.unanswered);
    w.max_ms = std::max<long>(
        w.max_ms, std::chrono::duration_cast<std::chrono::milliseconds>(s.done - s.sent).count());
  }
  return w;
}

std::string Describe(const std::string& label, const Timeline::Window& w) {
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %ld answered (%.0f msg/s over %.1f s), %ld msg_id 0, %ld unanswered, max "
                "latency %ld ms",
                label.c_str(), w.answered, w.per_second(), w.seconds, w.zero, w.unanswered,
                w.max_ms);
  return line;
}

}  // namespace dbproxy::testing::cluster
