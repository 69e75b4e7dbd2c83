// libFuzzer target: the reader of the media server's JSON answer to an upload. Any bytes
// must give a url or nullopt, never a crash; a url, when given, is never empty.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "plugins/audio/msfs_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto url = dbproxy::plugins::audio::ParseUploadAnswer(json);
  if (url && url->empty()) {
    std::abort();
  }
  return 0;
}
