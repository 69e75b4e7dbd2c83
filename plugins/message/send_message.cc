#include "plugins/message/send_message.h"

#include <algorithm>
#include <string>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "plugins/common/audio_service.h"
#include "plugins/common/command_ids.h"
#include "plugins/common/events.h"
#include "plugins/common/key_format.h"
#include "plugins/common/membership.h"
#include "plugins/message/message_writer.h"
#include "plugins/message/wire_body.h"

namespace dbproxy::plugins::message {
namespace {

using IM::Message::IMMsgData;
using sdk::Result;
using sdk::Status;

bool IsGroupType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_GROUP_TEXT ||
         type == IM::BaseDefine::MSG_TYPE_GROUP_AUDIO;
}

bool IsAudioType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO ||
         type == IM::BaseDefine::MSG_TYPE_GROUP_AUDIO;
}

// Why the request cannot be stored, or "" if it may be. No storage is touched for these.
std::string CheckInput(const Config& config, const IMMsgData& msg) {
  if (msg.from_user_id() == 0) {
    return "from_user_id is 0";
  }
  if (msg.to_session_id() == 0) {
    return "to_session_id is 0";
  }
  if (msg.msg_data().empty()) {
    return "msg_data is empty";
  }
  if (!IsGroupType(msg.msg_type()) && msg.from_user_id() == msg.to_session_id()) {
    return "message to oneself";
  }
  // Audio bytes go to the media server; only the decimal audio id reaches the column.
  if (!IsAudioType(msg.msg_type()) && msg.msg_data().size() > config.max_msg_bytes) {
    return sdk::StrCat("msg_data has ", msg.msg_data().size(), " bytes, max_msg_bytes is ",
                       config.max_msg_bytes);
  }
  return "";
}

// Uploads an audio message. Returns the content to store: the decimal audio id.
Result<std::string> SaveAudio(const sdk::Host& host, const IMMsgData& msg, uint32_t to_id) {
  audio_service::SaveResult saved =
      audio_service::Save(host, msg.from_user_id(), to_id, msg.create_time(), msg.msg_data());
  switch (saved.status) {
    case audio_service::SaveStatus::kStored:
      return keys::Num(saved.audio_id);
    case audio_service::SaveStatus::kInvalid:
      return Status(DBP_E_INVALID, "audio data is invalid");
    case audio_service::SaveStatus::kFailed:
      break;
  }
  return Status(DBP_E_UNAVAILABLE, "audio was not stored (audio module missing or failing)");
}

Result<StoredMessage> StoreSingle(const sdk::Host& host, const IMMsgData& msg) {
  SingleMessage message;
  message.from_id = msg.from_user_id();
  message.to_id = msg.to_session_id();
  message.create_time = msg.create_time();
  message.type = msg.msg_type();
  message.content = msg.msg_data();
  std::string audio_id;
  if (IsAudioType(msg.msg_type())) {
    Result<std::string> saved = SaveAudio(host, msg, message.to_id);
    if (!saved.ok()) {
      return saved.status();
    }
    audio_id = std::move(*saved);
    message.content = audio_id;
  }
  return MessageWriter(host).StoreSingle(message);
}

Result<StoredMessage> StoreGroup(const sdk::Host& host, const IMMsgData& msg) {
  const uint32_t group_id = msg.to_session_id();
  membership::Answer answer = membership::Query(host, group_id, msg.from_user_id());
  if (answer.status == membership::Lookup::kError) {
    return Status(DBP_E_UNAVAILABLE, "group membership service failed");
  }
  if (answer.status == membership::Lookup::kNoGroup) {
    return Status(DBP_E_NOT_FOUND, "no such group");
  }
  const bool member =
      std::any_of(answer.members.begin(), answer.members.end(),
                  [&](const membership::Member& m) { return m.user_id == msg.from_user_id(); });
  if (!member) {
    return Status(DBP_E_NOT_FOUND, "sender is not a member of the group");
  }

  GroupMessage message;
  message.group_id = group_id;
  message.from_id = msg.from_user_id();
  message.create_time = msg.create_time();
  message.type = msg.msg_type();
  message.content = msg.msg_data();
  std::string audio_id;
  if (IsAudioType(msg.msg_type())) {
    Result<std::string> saved = SaveAudio(host, msg, group_id);
    if (!saved.ok()) {
      return saved.status();
    }
    audio_id = std::move(*saved);
    message.content = audio_id;
  }
  return MessageWriter(host).StoreGroup(message);
}

// The failure answer: the request as far as it was read, with msg_id 0 and every required
// field present so msg_server can parse it (it then drops the message: the sender gets no
// ACK and retries).
void AnswerFailure(const sdk::Host& host, sdk::Request& request, IMMsgData* msg) {
  if (!msg->has_from_user_id()) {
    msg->set_from_user_id(0);
  }
  if (!msg->has_to_session_id()) {
    msg->set_to_session_id(0);
  }
  if (!msg->has_create_time()) {
    msg->set_create_time(0);
  }
  if (!msg->has_msg_type()) {
    msg->set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  }
  if (!msg->has_msg_data()) {
    msg->set_msg_data("");
  }
  msg->set_msg_id(0);
  // A partly parsed body keeps the bytes it could not read as unknown fields; echoed back
  // they would make the answer itself unparsable for msg_server.
  msg->mutable_unknown_fields()->clear();
  Status replied = ReplyMsg(request, cid::kMsgData, *msg);
  if (!replied.ok()) {
    host.Error("cmd=0x0301 seq=", request.seq(), ": failure answer not sent: ", replied.message());
    host.Count("reply_failures");
  }
}

void PublishStored(const sdk::Host& host, const IMMsgData& msg, const StoredMessage& stored) {
  events::MessageStored event;
  event.session_type = IsGroupType(msg.msg_type()) ? IM::BaseDefine::SESSION_TYPE_GROUP
                                                   : IM::BaseDefine::SESSION_TYPE_SINGLE;
  event.from_user_id = msg.from_user_id();
  event.to_id = msg.to_session_id();
  event.msg_id = stored.msg_id;
  event.msg_type = msg.msg_type();
  event.create_time = msg.create_time();
  event.relate_id = stored.relate_id;
  event.stored_at = stored.stored_at;
  (void)host.Publish(events::kMessageStored, events::Encode(event));  // count of subscribers
}

}  // namespace

void HandleSendMessage(const sdk::Host& host, const Config& config, sdk::Request& request) {
  IMMsgData msg;
  if (!ParseBody(request.body(), &msg)) {
    host.Warn("cmd=0x0301 seq=", request.seq(), " conn=", request.connection(), ": body of ",
              request.body().size(), " bytes does not parse; answering msg_id 0");
    host.Count("send_unparsable");
    AnswerFailure(host, request, &msg);
    return;
  }
  const std::string rejected = CheckInput(config, msg);
  if (!rejected.empty()) {
    host.Debug("cmd=0x0301 seq=", request.seq(), " from=", msg.from_user_id(),
               " to=", msg.to_session_id(), ": rejected: ", rejected);
    host.Count("send_rejected");
    AnswerFailure(host, request, &msg);
    return;
  }

  Result<StoredMessage> stored =
      IsGroupType(msg.msg_type()) ? StoreGroup(host, msg) : StoreSingle(host, msg);
  if (!stored.ok()) {
    const Status status = stored.status();
    const bool refused = status.code() == DBP_E_NOT_FOUND || status.code() == DBP_E_INVALID;
    host.Log(refused ? DBP_LOG_DEBUG : DBP_LOG_WARN,
             sdk::StrCat("cmd=0x0301 seq=", request.seq(), " from=", msg.from_user_id(), " to=",
                         msg.to_session_id(), " type=", static_cast<uint32_t>(msg.msg_type()),
                         ": not stored: ", status.message()));
    host.Count(refused ? "send_rejected" : "send_failed");
    AnswerFailure(host, request, &msg);
    return;
  }

  // Subscribers update unread counters and sessions before msg_server hears of the message.
  PublishStored(host, msg, *stored);
  host.Count("messages_stored");
  msg.set_msg_id(stored->msg_id);
  Status replied = ReplyMsg(request, cid::kMsgData, msg);
  if (!replied.ok()) {
    host.Error("cmd=0x0301 seq=", request.seq(), " from=", msg.from_user_id(),
               " msg_id=", stored->msg_id,
               ": stored but the answer was not sent: ", replied.message());
    host.Count("reply_failures");
  }
}

}  // namespace dbproxy::plugins::message
