#include "plugins/audio/load_audio.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugins/audio/audio_store.h"
#include "plugins/audio/msfs_download.h"
#include "plugins/common/audio_service.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::audio {
namespace {

constexpr uint16_t kNoService = 0;  // internal replies never reach the wire

// The answer for ids in order; entries of expanded ids hold duration ‖ bytes.
std::string EncodeAnswer(const std::vector<uint32_t>& ids,
                         const std::unordered_map<uint32_t, std::string>& expanded) {
  std::string out;
  for (uint32_t id : ids) {
    membership::PutU32(&out, id);
    auto it = expanded.find(id);
    out.push_back(it != expanded.end() ? 1 : 0);
    membership::PutU32(&out, it != expanded.end() ? static_cast<uint32_t>(it->second.size()) : 0);
    if (it != expanded.end()) {
      out.append(it->second);
    }
  }
  return out;
}

}  // namespace

void LoadAudio::Handle(sdk::Request& request) {
  std::string_view body = request.body();
  std::vector<uint32_t> ids;
  for (size_t at = 0; at + 4 <= body.size(); at += 4) {
    ids.push_back(membership::GetU32(body, at));
  }
  if (body.size() % 4 != 0) {
    host_.Warn("audio load: request of ", body.size(), " bytes is not a list of u32 ids");
    host_.Count("bad_requests");
  }

  std::vector<uint32_t> wanted;
  {
    std::unordered_set<uint32_t> seen;
    for (uint32_t id : ids) {
      if (id != 0 && seen.insert(id).second) {
        wanted.push_back(id);
      }
    }
  }
  if (wanted.size() > config_.max_load_ids) {
    host_.Warn("audio load: ", wanted.size(), " audio ids asked, expanding the first ",
               config_.max_load_ids);
    host_.Count("audio_load_capped");
    wanted.resize(config_.max_load_ids);
  }

  std::unordered_map<uint32_t, std::string> expanded;
  auto rows = SelectAudio(host_, wanted);
  if (!rows.ok()) {
    host_.Warn("audio load: ", rows.status().message());
    host_.Count("storage_errors");
  } else {
    std::vector<Download> downloads;
    std::vector<uint32_t> durations;
    std::vector<uint32_t> row_ids;
    for (const AudioRow& row : *rows) {
      if (row.path.empty() || row.size == 0 || row.size > config_.max_audio_bytes) {
        continue;
      }
      downloads.push_back(Download{row.path, row.size, std::nullopt});
      durations.push_back(row.duration);
      row_ids.push_back(row.id);
    }
    auto started = std::chrono::steady_clock::now();
    DownloadStats stats =
        DownloadAll(&downloads, HttpLimits{config_.connect_timeout_ms, config_.timeout_ms},
                    config_.max_parallel_downloads);
    if (stats.failed > 0 || stats.timed_out > 0) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      host_.Warn("audio load: ", stats.ok, " of ", downloads.size(), " downloads ok, ",
                 stats.failed, " failed, ", stats.timed_out, " timed out after ", ms, " ms");
      host_.Count("audio_download_errors", static_cast<int64_t>(stats.failed + stats.timed_out));
    }
    for (size_t i = 0; i < downloads.size(); ++i) {
      if (!downloads[i].body) {
        continue;
      }
      std::string data;
      membership::PutU32(&data, durations[i]);
      data.append(*downloads[i].body);
      expanded.emplace(row_ids[i], std::move(data));
    }
  }

  // A reply larger than a frame is refused: halve the expanded bytes (dropping the last
  // ids first) until it fits.
  std::string answer = EncodeAnswer(ids, expanded);
  sdk::Status s = request.Reply(kNoService, cid::kInternalAudioLoad, answer);
  size_t limit = answer.size();
  while (!s.ok() && s.code() == DBP_E_INVALID && !expanded.empty()) {
    limit /= 2;
    size_t size = answer.size();
    for (size_t k = wanted.size(); k > 0 && size > limit; --k) {
      auto it = expanded.find(wanted[k - 1]);
      if (it != expanded.end()) {
        size -= std::min(size, it->second.size());
        expanded.erase(it);
      }
    }
    host_.Warn("audio load: answer of ", answer.size(), " bytes exceeds a frame; shrinking");
    host_.Count("audio_load_too_large");
    answer = EncodeAnswer(ids, expanded);
    s = request.Reply(kNoService, cid::kInternalAudioLoad, answer);
  }
  if (!s.ok()) {
    host_.Warn("audio load: reply failed: ", s.message());
  }
}

}  // namespace dbproxy::plugins::audio
