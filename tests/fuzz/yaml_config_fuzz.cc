// libFuzzer target: the YAML config loader on arbitrary documents. Any input must load or
// give an error whose message starts with the source name and a line ("fuzz.yaml:12: ...");
// it must never crash, throw or hang.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/config/yaml_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) {
    return 0;  // real config files are small; long inputs only slow the search down
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = dbproxy::config::LoadConfigText(text, "fuzz.yaml");
  if (!loaded.ok()) {
    const std::string message = loaded.status().ToString();
    const size_t name = message.find("fuzz.yaml:");
    if (name == std::string::npos) {
      std::abort();  // an error that does not say where
    }
    const size_t digit = name + std::string("fuzz.yaml:").size();
    if (digit >= message.size() || message[digit] < '0' || message[digit] > '9') {
      std::abort();
    }
  }
  return 0;
}
