#include "plugins/audio/msfs_download.h"

#include <algorithm>
#include <chrono>

#include <curl/curl.h>

namespace dbproxy::plugins::audio {
namespace {

struct Transfer {
  CURL* easy = nullptr;
  Download* download = nullptr;
  std::string buffer;
  bool done = false;
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->buffer.size() + size * n > t->download->expected_size) {
    return 0;  // more bytes than IMAudio.size says: fail now instead of reading on
  }
  t->buffer.append(data, size * n);
  return size * n;
}

}  // namespace

DownloadStats DownloadAll(std::vector<Download>* downloads, const HttpLimits& limits,
                          size_t max_parallel) {
  DownloadStats stats;
  if (downloads->empty()) {
    return stats;
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(limits.timeout_ms);

  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    stats.failed = downloads->size();
    return stats;
  }
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(max_parallel));

  std::vector<Transfer> transfers(downloads->size());
  for (size_t i = 0; i < downloads->size(); ++i) {
    Transfer& t = transfers[i];
    t.download = &(*downloads)[i];
    t.buffer.reserve(t.download->expected_size);
    t.easy = curl_easy_init();
    if (t.easy == nullptr) {
      t.done = true;
      ++stats.failed;
      continue;
    }
    curl_easy_setopt(t.easy, CURLOPT_URL, t.download->url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(limits.connect_timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_multi_add_handle(multi, t.easy);
  }

  int running = 0;
  curl_multi_perform(multi, &running);
  for (;;) {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      t->done = true;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status == 200 &&
          t->buffer.size() == t->download->expected_size) {
        t->download->body = std::move(t->buffer);
        ++stats.ok;
      } else {
        ++stats.failed;
      }
    }
    if (running == 0) {
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::min<int64_t>(left.count(), 100)),
                    nullptr);
    curl_multi_perform(multi, &running);
  }

  for (Transfer& t : transfers) {
    if (t.easy == nullptr) {
      continue;
    }
    if (!t.done) {
      ++stats.timed_out;
    }
    curl_multi_remove_handle(multi, t.easy);
    curl_easy_cleanup(t.easy);
  }
  curl_multi_cleanup(multi);
  return stats;
}

}  // namespace dbproxy::plugins::audio
