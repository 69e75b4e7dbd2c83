#include "plugins/audio/msfs_upload.h"

#include <memory>

#include <curl/curl.h>

#include "dbproxy/sdk/plugin.h"
#include "plugins/audio/msfs_answer.h"

namespace dbproxy::plugins::audio {
namespace {

// Larger answers are not an msfs upload answer; stop reading.
constexpr size_t kMaxAnswerBytes = 64 * 1024;

size_t CollectAnswer(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > kMaxAnswerBytes) {
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  out->append(data, size * n);
  return size * n;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

sdk::Result<std::string> UploadAudio(const std::string& msfs_url, std::string_view audio,
                                     const HttpLimits& limits) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) {
    return sdk::Status(DBP_E_NOMEM, "curl_easy_init failed");
  }
  CURL* c = easy.get();
  std::unique_ptr<curl_mime, MimeDeleter> mime(curl_mime_init(c));
  curl_mimepart* part = curl_mime_addpart(mime.get());
  curl_mime_name(part, "file");
  curl_mime_filename(part, "1.audio");
  curl_mime_type(part, "application/octet-stream");
  curl_mime_data(part, audio.data(), audio.size());
  // No "Expect: 100-continue": it costs a round trip (or a 1 s wait) per upload.
  std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(nullptr, "Expect:"));

  std::string answer;
  curl_easy_setopt(c, CURLOPT_URL, msfs_url.c_str());
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout_ms));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CollectAnswer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return sdk::Status(DBP_E_UNAVAILABLE,
                       sdk::StrCat("upload to ", msfs_url, " failed: ", curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return sdk::Status(DBP_E_UNAVAILABLE,
                       sdk::StrCat("upload to ", msfs_url, " answered HTTP ", status));
  }
  std::optional<std::string> url = ParseUploadAnswer(answer);
  if (!url) {
    return sdk::Status(DBP_E_INVALID, sdk::StrCat("upload to ", msfs_url,
                                                  " was refused: ", answer.substr(0, 200)));
  }
  return *url;
}

}  // namespace dbproxy::plugins::audio
