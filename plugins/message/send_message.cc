#include "plugins/message/send_message.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

// (group id, sender) -> the membership service's answer, asked once per batch.
using MembershipAnswers = std::map<std::pair<uint32_t, uint32_t>, membership::Answer>;

// Why the group message may not be stored, or OK.
Status CheckGroupSender(const sdk::Host& host, const IMMsgData& msg, MembershipAnswers* answers) {
  const auto key = std::make_pair(msg.to_session_id(), msg.from_user_id());
  auto it = answers->find(key);
  if (it == answers->end()) {
    it = answers->emplace(key, membership::Query(host, key.first, key.second)).first;
  }
  const membership::Answer& answer = it->second;
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
  return Status();
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

events::MessageStored StoredEvent(const IMMsgData& msg, const StoredMessage& stored) {
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
  return event;
}

void LogNotStored(const sdk::Host& host, const sdk::Request& request, const IMMsgData& msg,
                  const Status& status) {
  const bool refused = status.code() == DBP_E_NOT_FOUND || status.code() == DBP_E_INVALID;
  host.Log(refused ? DBP_LOG_DEBUG : DBP_LOG_WARN,
           sdk::StrCat("cmd=0x0301 seq=", request.seq(), " from=", msg.from_user_id(),
                       " to=", msg.to_session_id(), " type=", static_cast<uint32_t>(msg.msg_type()),
                       ": not stored: ", status.message()));
  host.Count(refused ? "send_rejected" : "send_failed");
}

// One request of a batch on its way: parsed, checked, then written.
struct Pending {
  sdk::Request* request = nullptr;
  IMMsgData msg;
  std::string audio_id;  // the stored content of an audio message
};

}  // namespace

void HandleSendMessages(const sdk::Host& host, const Config& config,
                        std::span<sdk::Request> requests) {
  // Parse and check everything first; what cannot be stored is answered right away.
  std::vector<Pending> pending;
  pending.reserve(requests.size());  // never reallocated: items point into it
  MembershipAnswers memberships;
  for (sdk::Request& request : requests) {
    Pending p;
    p.request = &request;
    if (!ParseBody(request.body(), &p.msg)) {
      host.Warn("cmd=0x0301 seq=", request.seq(), " conn=", request.connection(), ": body of ",
                request.body().size(), " bytes does not parse; answering msg_id 0");
      host.Count("send_unparsable");
      AnswerFailure(host, request, &p.msg);
      continue;
    }
    const std::string rejected = CheckInput(config, p.msg);
    if (!rejected.empty()) {
      host.Debug("cmd=0x0301 seq=", request.seq(), " from=", p.msg.from_user_id(),
                 " to=", p.msg.to_session_id(), ": rejected: ", rejected);
      host.Count("send_rejected");
      AnswerFailure(host, request, &p.msg);
      continue;
    }
    Status ready;
    if (IsGroupType(p.msg.msg_type())) {
      ready = CheckGroupSender(host, p.msg, &memberships);
    }
    if (ready.ok() && IsAudioType(p.msg.msg_type())) {
      const uint32_t to_id = p.msg.to_session_id();
      Result<std::string> saved = SaveAudio(host, p.msg, to_id);
      if (saved.ok()) {
        p.audio_id = std::move(*saved);
      } else {
        ready = saved.status();
      }
    }
    if (!ready.ok()) {
      LogNotStored(host, request, p.msg, ready);
      AnswerFailure(host, request, &p.msg);
      continue;
    }
    pending.push_back(std::move(p));
  }
  if (pending.empty()) {
    return;
  }

  std::vector<WriteItem> items(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    const IMMsgData& msg = pending[i].msg;
    WriteItem& item = items[i];
    item.group = IsGroupType(msg.msg_type());
    item.from_id = msg.from_user_id();
    item.to_id = msg.to_session_id();
    item.create_time = msg.create_time();
    item.type = msg.msg_type();
    item.content = IsAudioType(msg.msg_type()) ? std::string_view(pending[i].audio_id)
                                               : std::string_view(msg.msg_data());
  }
  MessageWriter(host).Store(items);

  // Subscribers update unread counters and sessions before msg_server hears of a message.
  std::vector<events::MessageStored> stored_events;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (items[i].status.ok()) {
      stored_events.push_back(StoredEvent(pending[i].msg, items[i].stored));
    }
  }
  if (!stored_events.empty()) {
    (void)host.Publish(events::kMessageStored, events::EncodeBatch(stored_events));
    host.Count("messages_stored", static_cast<int64_t>(stored_events.size()));
    host.Count("send_batches");
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    sdk::Request& request = *pending[i].request;
    IMMsgData& msg = pending[i].msg;
    if (!items[i].status.ok()) {
      LogNotStored(host, request, msg, items[i].status);
      AnswerFailure(host, request, &msg);
      continue;
    }
    msg.set_msg_id(items[i].stored.msg_id);
    Status replied = ReplyMsg(request, cid::kMsgData, msg);
    if (!replied.ok()) {
      host.Error("cmd=0x0301 seq=", request.seq(), " from=", msg.from_user_id(),
                 " msg_id=", items[i].stored.msg_id,
                 ": stored but the answer was not sent: ", replied.message());
      host.Count("reply_failures");
    }
  }
}

}  // namespace dbproxy::plugins::message
