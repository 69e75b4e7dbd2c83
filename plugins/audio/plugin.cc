// audio: the media-server side of audio messages, as two internal services for the message
// module (plugins/common/audio_service.h): save (upload + IMAudio row) and load (IMAudio
// rows + parallel downloads). Nothing here is reachable from the network. See README.md.

#include <memory>

#include <curl/curl.h>

#include "dbproxy/sdk.h"
#include "plugins/audio/config.h"
#include "plugins/audio/load_audio.h"
#include "plugins/audio/save_audio.h"
#include "plugins/common/command_ids.h"

namespace dbproxy::plugins::audio {
namespace {

class AudioPlugin : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    auto config = LoadConfig(host);
    if (!config.ok()) {
      return config.status();
    }
    if (config->msfs_url.empty()) {
      host.Warn("msfs_url is not set: every audio message will be refused (msg_id 0)");
    }
    host_ = &host;
    save_ = std::make_unique<SaveAudio>(host, *config);
    load_ = std::make_unique<LoadAudio>(host, *config);
    sdk::Status s = host.RegisterCommand(
        cid::kInternalAudioSave, [this](sdk::Request& r) { save_->Handle(r); }, nullptr,
        DBP_CMD_INTERNAL);
    if (s.ok()) {
      s = host.RegisterCommand(
          cid::kInternalAudioLoad, [this](sdk::Request& r) { load_->Handle(r); }, nullptr,
          DBP_CMD_INTERNAL);
    }
    if (!s.ok()) {
      return s;
    }
    // Not thread-safe in every libcurl build, so it runs here, on the control thread, before
    // any handler can use curl (registrations go live only after Init returns), and last, so
    // a failed Init never leaves it unbalanced. Reference-counted: a second generation
    // calling it again is fine.
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      return sdk::Status(DBP_E_INTERNAL,
                         std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
    }
    curl_initialized_ = true;
    return s;
  }

  // curl_global_cleanup() undoes one curl_global_init(). It is only safe while no other
  // thread uses libcurl; the host calls Shutdown after this instance's last handler, but a
  // newer generation of this module may be running handlers already. libcurl builds that
  // report CURL_VERSION_THREADSAFE make init/cleanup thread-safe and reference-counted, so
  // the pair is balanced there; elsewhere the cleanup is skipped (a few bytes kept until exit).
  void Shutdown() override {
    if (!curl_initialized_) {
      return;
    }
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    if (info != nullptr && (info->features & CURL_VERSION_THREADSAFE) != 0) {
      curl_global_cleanup();
    } else if (host_ != nullptr) {
      host_->Info("libcurl is not built thread-safe: curl_global_cleanup skipped");
    }
  }

 private:
  sdk::Host* host_ = nullptr;
  bool curl_initialized_ = false;
  std::unique_ptr<SaveAudio> save_;
  std::unique_ptr<LoadAudio> load_;
};

}  // namespace
}  // namespace dbproxy::plugins::audio

DBP_PLUGIN("audio", "1.0.0", DBP_PLUGIN_RELOADABLE, dbproxy::plugins::audio::AudioPlugin)
