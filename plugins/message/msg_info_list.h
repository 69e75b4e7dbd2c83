#pragma once

// Stored message rows -> the MsgInfo list of a 0x030a / 0x030e answer: msg_id, sender
// (fromId / userId), create_time (created), msg_type, msg_data (content). Rows whose type is
// not a MsgType are skipped. Audio rows (type 2 / 0x12) hold a decimal audio id; they are
// expanded to duration ‖ audio bytes with ONE audio_service::Load call per answer, and ids
// the audio module does not return keep the decimal id as data (as TeamTalk does).

#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "IM.BaseDefine.pb.h"
#include "dbproxy/sdk.h"
#include "plugins/message/message_store.h"

namespace dbproxy::plugins::message {

// Appends rows, in order, to *out.
// Thread: a worker. REQUIRES: no pooled connection held (the audio module may need one).
void AppendMsgInfos(const sdk::Host& host, std::vector<store::MessageRow> rows,
                    google::protobuf::RepeatedPtrField<IM::BaseDefine::MsgInfo>* out);

// Sends an answer whose list may be too large for one frame: on DBP_E_INVALID (frame too
// big) the oldest half of the list is dropped and the reply tried again, down to an empty
// list, so a large audio list is answered short rather than not at all.
// Response: a 0x030a or 0x030e message; list: its msg_list field.
template <typename Response, typename Reply>
void ReplyShrinking(const sdk::Host& host, Response* response,
                    google::protobuf::RepeatedPtrField<IM::BaseDefine::MsgInfo>* list,
                    Reply&& reply) {
  for (;;) {
    sdk::Status sent = reply(*response);
    if (sent.ok()) {
      return;
    }
    if (sent.code() != DBP_E_INVALID || list->empty()) {
      host.Error("answer not sent: ", sent.message());
      host.Count("reply_failures");
      return;
    }
    const int keep = list->size() / 2;
    host.Warn("answer with ", list->size(), " messages exceeds the frame limit; sending ", keep);
    host.Count("answers_shortened");
    list->DeleteSubrange(keep, list->size() - keep);
  }
}

}  // namespace dbproxy::plugins::message
