#pragma once

// Loads a plugin library the safe way: copy the .so to a unique path in the staging
// directory (never dlopen the installed file, which an upgrade may overwrite in place),
// dlopen(RTLD_NOW | RTLD_LOCAL), find the one entry symbol and check the ABI before
// anything else is called. Control thread.

#include <memory>
#include <string>

#include "core/base/status.h"
#include "dbproxy/abi.h"

namespace dbproxy::plugin {

class LoadedLibrary {
 public:
  ~LoadedLibrary();  // Unload()s
  LoadedLibrary(const LoadedLibrary&) = delete;
  LoadedLibrary& operator=(const LoadedLibrary&) = delete;

  const dbp_plugin_descriptor_t& descriptor() const { return descriptor_; }
  const std::string& source_path() const { return source_path_; }
  const std::string& staged_path() const { return staged_path_; }
  const std::string& content_hash() const { return content_hash_; }  // of the file loaded

  // dlcloses, checks with RTLD_NOLOAD that the code is really gone, and removes the staged
  // copy. Returns false if the library stayed mapped (reported, not fatal).
  bool Unload();

 private:
  friend Result<std::unique_ptr<LoadedLibrary>> LoadLibrary(const std::string&, const std::string&,
                                                            const std::string&);
  LoadedLibrary() = default;

  void* handle_ = nullptr;
  dbp_plugin_descriptor_t descriptor_{};  // copied with min(size) and zero-filled
  std::string source_path_;
  std::string staged_path_;
  std::string content_hash_;
};

// Loads <directory>/<name>.so. expected_name must match the descriptor's name.
Result<std::unique_ptr<LoadedLibrary>> LoadLibrary(const std::string& source_path,
                                                   const std::string& staging_directory,
                                                   const std::string& expected_name);

// A cheap content fingerprint of a file (size + FNV-1a of the bytes), "" if unreadable.
std::string FileFingerprint(const std::string& path);

}  // namespace dbproxy::plugin
