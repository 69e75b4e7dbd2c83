#include "plugins/message/msg_info_list.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "plugins/common/audio_service.h"

namespace dbproxy::plugins::message {
namespace {

bool IsAudio(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO ||
         type == IM::BaseDefine::MSG_TYPE_GROUP_AUDIO;
}

// The audio id an audio row's content names; nullopt if it is not a decimal uint32.
std::optional<uint32_t> AudioId(std::string_view content) {
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(content.data(), content.data() + content.size(), id);
  if (content.empty() || ec != std::errc() || ptr != content.data() + content.size()) {
    return std::nullopt;
  }
  return id;
}

}  // namespace

void AppendMsgInfos(const sdk::Host& host, std::vector<store::MessageRow> rows,
                    google::protobuf::RepeatedPtrField<IM::BaseDefine::MsgInfo>* out) {
  std::vector<uint32_t> audio_ids;
  for (const store::MessageRow& row : rows) {
    if (IsAudio(row.type)) {
      if (std::optional<uint32_t> id = AudioId(row.content)) {
        audio_ids.push_back(*id);
      }
    }
  }
  std::unordered_map<uint32_t, std::string> audio = audio_service::Load(host, audio_ids);

  for (store::MessageRow& row : rows) {
    if (!IM::BaseDefine::MsgType_IsValid(static_cast<int>(row.type))) {
      host.Count("rows_with_invalid_type");
      continue;
    }
    IM::BaseDefine::MsgInfo* info = out->Add();
    info->set_msg_id(row.msg_id);
    info->set_from_session_id(row.from_id);
    info->set_create_time(row.created);
    info->set_msg_type(static_cast<IM::BaseDefine::MsgType>(row.type));
    std::unordered_map<uint32_t, std::string>::iterator found = audio.end();
    if (IsAudio(row.type)) {
      if (std::optional<uint32_t> id = AudioId(row.content)) {
        found = audio.find(*id);
      }
    }
    if (found != audio.end()) {
      info->set_msg_data(found->second);
    } else {
      info->set_msg_data(std::move(row.content));
    }
  }
}

}  // namespace dbproxy::plugins::message
