#include "plugins/audio/save_audio.h"

#include <cstdint>
#include <string_view>

#include "plugins/audio/audio_store.h"
#include "plugins/audio/msfs_upload.h"
#include "plugins/common/audio_service.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::audio {
namespace {

constexpr uint16_t kNoService = 0;   // internal replies never reach the wire
constexpr size_t kHeaderBytes = 12;  // from, to, create_time
constexpr size_t kDurationBytes = 4;
constexpr size_t kMaxPathChars = 255;  // IMAudio.path varchar(255)

}  // namespace

void SaveAudio::Handle(sdk::Request& request) {
  using audio_service::SaveResult;
  using audio_service::SaveStatus;
  auto answer = [&](SaveStatus status, uint32_t id) {
    SaveResult r;
    r.status = status;
    r.audio_id = id;
    sdk::Status s =
        request.Reply(kNoService, cid::kInternalAudioSave, audio_service::EncodeSaveResult(r));
    if (!s.ok()) {
      host_.Warn("audio save: reply failed: ", s.message());
    }
  };

  std::string_view body = request.body();
  if (body.size() < kHeaderBytes) {
    host_.Warn("audio save: request of ", body.size(), " bytes is too short");
    host_.Count("bad_requests");
    answer(SaveStatus::kInvalid, 0);
    return;
  }
  const uint32_t from = membership::GetU32(body, 0);
  const uint32_t to = membership::GetU32(body, 4);
  const uint32_t created = membership::GetU32(body, 8);
  std::string_view msg_data = body.substr(kHeaderBytes);
  if (msg_data.size() <= kDurationBytes ||
      msg_data.size() - kDurationBytes > config_.max_audio_bytes) {
    host_.Debug("audio save: ", msg_data.size(), " bytes of msg_data refused from=", from);
    host_.Count("audio_invalid");
    answer(SaveStatus::kInvalid, 0);
    return;
  }
  const uint32_t duration = membership::GetU32(msg_data, 0);
  std::string_view audio = msg_data.substr(kDurationBytes);

  if (config_.msfs_url.empty()) {
    host_.Warn("audio save: msfs_url is not configured; audio from=", from, " not stored");
    host_.Count("audio_upload_errors");
    answer(SaveStatus::kFailed, 0);
    return;
  }
  HttpLimits limits{config_.connect_timeout_ms, config_.timeout_ms};
  auto url = UploadAudio(config_.msfs_url, audio, limits);
  if (!url.ok()) {
    host_.Warn("audio save: ", url.status().message(), " from=", from, " to=", to);
    host_.Count("audio_upload_errors");
    answer(SaveStatus::kFailed, 0);
    return;
  }
  if (url->size() > kMaxPathChars) {
    host_.Warn("audio save: media server url of ", url->size(), " bytes does not fit IMAudio.path");
    host_.Count("audio_upload_errors");
    answer(SaveStatus::kFailed, 0);
    return;
  }
  auto id =
      InsertAudio(host_, from, to, *url, static_cast<uint32_t>(audio.size()), duration, created);
  if (!id.ok()) {
    host_.Warn("audio save: ", id.status().message(), " from=", from, " to=", to);
    host_.Count("storage_errors");
    answer(SaveStatus::kFailed, 0);
    return;
  }
  host_.Count("audio_stored");
  answer(SaveStatus::kStored, *id);
}

}  // namespace dbproxy::plugins::audio
