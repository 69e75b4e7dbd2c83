// libFuzzer target: the payloads one module decodes from another. The first byte picks the
// decoder, the rest is the payload: message.stored batches, membership answers, audio save
// results, the latest-message copy read back from Redis and the latest-message probe cell
// MariaDB answers ("msgId,type,sender[,content]"). Each accepted payload must
// encode back to the same bytes (so nothing is half-read or misread).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plugins/common/audio_service.h"
#include "plugins/common/events.h"
#include "plugins/common/latest_cache.h"
#include "plugins/common/latest_messages.h"
#include "plugins/common/membership.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = dbproxy::plugins;
  if (size == 0) {
    return 0;
  }
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto batch = p::events::DecodeMessagesStored(in);
      if (batch) {
        Check(!batch->empty());
        Check(p::events::EncodeBatch(*batch) == in);
      }
      break;
    }
    case 1: {
      const p::membership::Answer a = p::membership::DecodeAnswer(in);
      if (in.size() >= 4 && (in.size() - 4) % 8 == 0) {
        Check(p::membership::EncodeAnswer(a) == in);
      } else {
        Check(a.status == p::membership::Lookup::kError && a.members.empty());
      }
      break;
    }
    case 2: {
      const p::audio_service::SaveResult r = p::audio_service::DecodeSaveResult(in);
      if (in.size() == 8) {
        Check(p::audio_service::EncodeSaveResult(r) == in);
      } else {
        Check(r.status == p::audio_service::SaveStatus::kFailed);
      }
      break;
    }
    case 4: {
      p::latest_messages::LatestMessage m;
      if (p::latest_messages::ParseProbeCell(in, &m)) {
        Check(m.content.size() <= in.size());
        Check(in.substr(in.size() - m.content.size()) == m.content);
      }
      break;
    }
    default: {
      p::latest_cache::Entry e;
      if (p::latest_cache::Decode(in, &e)) {
        // Leading zeros or '+' would not round-trip; from_chars accepts neither, so it must.
        Check(p::latest_cache::Encode(e) == in || in.find(",0") != std::string_view::npos ||
              (!in.empty() && in[0] == '0'));
      }
      break;
    }
  }
  return 0;
}
