#include "core/plugin/loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/log.h"

namespace dbproxy::plugin {
namespace {

std::atomic<uint64_t> g_load_counter{0};

std::string Hex64(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string FileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  uint64_t hash = 1469598103934665603ull;
  uint64_t size = 0;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash ^= static_cast<unsigned char>(buf[i]);
      hash *= 1099511628211ull;
    }
    size += static_cast<uint64_t>(in.gcount());
  }
  return Hex64(hash) + "-" + std::to_string(size);
}

LoadedLibrary::~LoadedLibrary() { (void)Unload(); }

bool LoadedLibrary::Unload() {
  if (handle_ == nullptr) {
    return true;
  }
  dlclose(handle_);
  handle_ = nullptr;
  bool gone = true;
  // dlclose may keep the mapping (unique symbols, TLS destructors); say so instead of
  // silently running stale code after a reload.
  if (void* still = dlopen(staged_path_.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    dlclose(still);
    gone = false;
    log::Get("plugin")->warn("{} is still mapped after dlclose ({}); its memory stays resident",
                             descriptor_.name ? descriptor_.name : "?", staged_path_);
  }
  std::error_code ec;
  std::filesystem::remove(staged_path_, ec);
  return gone;
}

Result<std::unique_ptr<LoadedLibrary>> LoadLibrary(const std::string& source_path,
                                                   const std::string& staging_directory,
                                                   const std::string& expected_name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(source_path, ec)) {
    return Status::NotFound("plugin '" + expected_name + "': file " + source_path + " not found");
  }
  fs::create_directories(staging_directory, ec);
  if (ec) {
    return Status::Unavailable("plugin '" + expected_name + "': cannot create staging directory " +
                               staging_directory + ": " + ec.message());
  }
  std::unique_ptr<LoadedLibrary> lib(new LoadedLibrary());
  lib->source_path_ = source_path;
  lib->content_hash_ = FileFingerprint(source_path);
  // A unique path per load: dlopen deduplicates by path, so reusing one would hand back the
  // old code. Copy to a temp name, then rename, so the staged file is never half-written.
  std::string unique = expected_name + "-" + std::to_string(getpid()) + "-" +
                       std::to_string(++g_load_counter) + "-" + lib->content_hash_.substr(0, 16) +
                       ".so";
  fs::path staged = fs::path(staging_directory) / unique;
  fs::path tmp = staged;
  tmp += ".tmp";
  fs::copy_file(source_path, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) {
    fs::rename(tmp, staged, ec);
  }
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Unavailable("plugin '" + expected_name + "': cannot stage " + source_path +
                               ": " + ec.message());
  }
  lib->staged_path_ = staged.string();

  lib->handle_ = dlopen(lib->staged_path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr) {
    std::string why = dlerror();
    fs::remove(staged, ec);
    lib->staged_path_.clear();
    return Status::Invalid("plugin '" + expected_name + "': dlopen failed: " + why);
  }
  void* sym = dlsym(lib->handle_, DBP_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return Status::Invalid("plugin '" + expected_name + "': " + source_path +
                           " does not export " DBP_PLUGIN_ENTRY_SYMBOL);
  }
  auto entry = reinterpret_cast<dbp_plugin_entry_fn>(sym);
  const dbp_plugin_descriptor_t* d = entry();
  if (d == nullptr) {
    return Status::Invalid("plugin '" + expected_name + "': entry returned NULL");
  }
  // Only the first three fields are read before the ABI check says the rest is meaningful.
  if (d->struct_size < offsetof(dbp_plugin_descriptor_t, name)) {
    return Status::Invalid("plugin '" + expected_name + "': descriptor too small");
  }
  if (d->abi_major != DBP_ABI_MAJOR || d->abi_minor > DBP_ABI_MINOR) {
    std::ostringstream msg;
    msg << "plugin '" << expected_name << "' was built for ABI " << d->abi_major << "."
        << d->abi_minor << ", but this dbproxyd provides ABI " << DBP_ABI_MAJOR << "."
        << DBP_ABI_MINOR << " (majors must match and the plugin's minor must not be newer)";
    return Status(DBP_E_CONFLICT, msg.str());
  }
  std::memcpy(&lib->descriptor_, d, std::min<size_t>(d->struct_size, sizeof(lib->descriptor_)));
  const dbp_plugin_descriptor_t& desc = lib->descriptor_;
  if (desc.name == nullptr || desc.init == nullptr) {
    return Status::Invalid("plugin '" + expected_name + "': descriptor lacks name or init");
  }
  if (expected_name != desc.name) {
    return Status::Invalid("plugin file " + source_path + " calls itself '" + desc.name +
                           "', but it is enabled as '" + expected_name + "'");
  }
  return lib;
}

}  // namespace dbproxy::plugin
