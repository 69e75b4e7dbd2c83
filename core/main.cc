// dbproxyd: flags, config, then Server::Run(). Nothing else lives here.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/base/log.h"
#include "core/config/yaml_loader.h"
#include "core/plugin/loader.h"
#include "core/server.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/dbproxy/dbproxy.yaml";

void Usage(FILE* out) {
  fprintf(out,
          "usage: dbproxyd [-c FILE] [--check-config] [--ready-file PATH] [--version]\n"
          "  -c, --config FILE   configuration (default %s)\n"
          "  --check-config      validate FILE and the enabled plugin files, then exit 0/1\n"
          "  --ready-file PATH   write bound addresses to PATH once serving\n"
          "  --version           print the version and exit\n",
          kDefaultConfig);
}

// Validates config and that every enabled module loads with a compatible ABI (nginx -t).
int CheckConfig(const std::string& path) {
  auto cfg = dbproxy::config::LoadConfigFile(path);
  if (!cfg.ok()) {
    fprintf(stderr, "dbproxyd: %s\n", cfg.status().message().c_str());
    return 1;
  }
  std::string staging = std::filesystem::temp_directory_path().string() + "/dbproxyd-check-" +
                        std::to_string(getpid());
  int rc = 0;
  for (const std::string& name : cfg->plugins.enabled) {
    auto lib =
        dbproxy::plugin::LoadLibrary(cfg->plugins.directory + "/" + name + ".so", staging, name);
    if (!lib.ok()) {
      fprintf(stderr, "dbproxyd: %s: %s\n", path.c_str(), lib.status().message().c_str());
      rc = 1;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(staging, ec);
  if (rc == 0) {
    printf("dbproxyd: configuration file %s is valid\n", path.c_str());
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = kDefaultConfig;
  std::string ready_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else if (arg == "--check-config" || arg == "-t") {
      check_only = true;
    } else if (arg == "--version" || arg == "-v") {
      printf("dbproxyd %s (plugin ABI %d.%d)\n", DBPROXY_VERSION, DBP_ABI_MAJOR, DBP_ABI_MINOR);
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      Usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "dbproxyd: unknown argument '%s'\n", arg.c_str());
      Usage(stderr);
      return 2;
    }
  }
  if (check_only) {
    return CheckConfig(config_path);
  }

  auto cfg = dbproxy::config::LoadConfigFile(config_path);
  if (!cfg.ok()) {
    fprintf(stderr, "dbproxyd: %s\n", cfg.status().message().c_str());
    return 1;
  }
  if (auto s = dbproxy::log::Setup(cfg->log.level, cfg->log.file); !s.ok()) {
    fprintf(stderr, "dbproxyd: %s\n", s.message().c_str());
    return 1;
  }
  // A peer that closes mid-write must not kill the daemon; libuv reports EPIPE instead.
  signal(SIGPIPE, SIG_IGN);
  dbproxy::Server server(std::move(cfg).value(), dbproxy::Server::Options{ready_file});
  return server.Run();
}
