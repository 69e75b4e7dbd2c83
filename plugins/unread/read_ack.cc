#include "plugins/unread/read_ack.h"

#include "IM.Message.pb.h"

namespace dbproxy::plugins::unread {

void ReadAck::Handle(sdk::Request& request) {
  IM::Message::IMMsgDataReadAck req;
  std::string_view body = request.body();
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    // An out-of-range session_type also lands here: proto2 drops it and the required field
    // is then missing.
    host_.Warn("read ack: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    return;
  }
  sdk::Status s;
  if (req.session_type() == IM::BaseDefine::SESSION_TYPE_SINGLE) {
    s = counters_.ClearSingle(req.user_id(), req.session_id());
  } else {
    s = counters_.ClearGroup(req.user_id(), req.session_id());
  }
  if (!s.ok()) {
    host_.Warn("read ack not applied: user=", req.user_id(), " session=", req.session_id(),
               " type=", static_cast<int>(req.session_type()), ": ", s.message());
    host_.Count("counter_errors");
  }
}

}  // namespace dbproxy::plugins::unread
