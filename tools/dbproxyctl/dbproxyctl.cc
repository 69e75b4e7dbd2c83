// dbproxyctl: the operator's command line for a running dbproxyd, over its admin Unix
// socket. One request line per connection; the daemon answers one JSON document, which is
// printed for humans or passed through with --json.
//
// Exit status: 0 success; 1 the daemon refused (reload failed, bad config); 2 usage;
// 3 the daemon could not be reached.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/config/yaml_loader.h"
#include "tools/dbproxyctl/json_value.h"
#include "tools/dbproxyctl/teamtalk_import.h"

namespace {

using dbproxy::ctl::JsonValue;

constexpr const char* kDefaultSocket = "/run/dbproxy/dbproxy.sock";
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

void Usage(FILE* out) {
  fprintf(
      out,
      "usage: dbproxyctl [-c CONFIG | --socket PATH] [--json] COMMAND\n"
      "commands:\n"
      "  status           uptime, connections, queue depth, serving generation\n"
      "  modules          loaded modules: version, ABI, generation, state, in-flight, commands\n"
      "  reload [MODULE]  re-read the daemon's config; reload changed modules (or MODULE)\n"
      "  config-check     validate CONFIG locally (with -c) or the daemon's own file\n"
      "The socket is --socket PATH, else admin.socket of -c CONFIG, else %s.\n"
      "Migration: dbproxyctl import-teamtalk-conf dbproxyserver.conf [-o dbproxy.yaml]\n"
      "  [--env-file ENV] [--plugin-dir DIR] [--staging-dir DIR]  (passwords go to ENV)\n",
      kDefaultSocket);
}

// Sends one line, reads the whole answer. Returns false if the daemon is unreachable.
bool Ask(const std::string& socket_path, const std::string& line, std::string* answer,
         std::string* error) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    *error = strerror(errno);
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    *error = "socket path too long";
    close(fd);
    return false;
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = std::string("cannot connect to ") + socket_path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  std::string req = line + "\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    *error = strerror(errno);
    close(fd);
    return false;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    answer->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

void PrintStatus(const JsonValue& s) {
  printf("version:        %s (pid %s)\n", s["version"].Scalar().c_str(), s["pid"].Scalar().c_str());
  printf("uptime:         %s s\n", s["uptime_seconds"].Scalar().c_str());
  printf("connections:    %s\n", s["connections"].Scalar().c_str());
  printf("queue depth:    %s (running %s of %s workers)\n", s["queue_depth"].Scalar().c_str(),
         s["running"].Scalar().c_str(), s["workers"].Scalar().c_str());
  printf("generation:     %s\n", s["generation"].Scalar().c_str());
  printf("last reload:    %s%s%s\n", s["last_reload_successful"].Scalar() == "1" ? "ok" : "FAILED",
         s["last_reload_error"].text.empty() ? "" : ": ", s["last_reload_error"].text.c_str());
}

void PrintModules(const JsonValue& list) {
  printf("%-14s %-8s %-5s %-4s %-9s %-9s %s\n", "MODULE", "VERSION", "ABI", "GEN", "STATE",
         "INFLIGHT", "COMMANDS");
  for (const JsonValue& m : list.items) {
    std::string cmds;
    for (const JsonValue& c : m["commands"].items) {
      cmds += (cmds.empty() ? "" : ",") + c.text;
    }
    printf("%-14s %-8s %-5s %-4s %-9s %-9s %s\n", m["name"].Scalar().c_str(),
           m["version"].Scalar().c_str(), m["abi"].Scalar().c_str(),
           m["generation"].Scalar().c_str(), m["state"].Scalar().c_str(),
           m["in_flight"].Scalar().c_str(), cmds.c_str());
    if (!m["last_error"].text.empty()) {
      printf("  last error: %s\n", m["last_error"].text.c_str());
    }
  }
}

std::string Join(const JsonValue& list) {
  std::string out;
  for (const JsonValue& v : list.items) {
    out += (out.empty() ? "" : ", ") + v.text;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "import-teamtalk-conf") {
    return dbproxy::ctl::RunImportTeamtalkConf(argc - 2, argv + 2);
  }
  std::string config_path;
  std::string socket_path;
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--socket" && i + 1 < argc) {
      socket_path = argv[++i];
    } else if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      fprintf(stderr, "dbproxyctl: unknown option '%s'\n", a.c_str());
      Usage(stderr);
      return kExitUsage;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty() || words.size() > 2 || (words.size() == 2 && words[0] != "reload")) {
    Usage(stderr);
    return kExitUsage;
  }
  const std::string& cmd = words[0];
  if (cmd != "status" && cmd != "modules" && cmd != "reload" && cmd != "config-check") {
    fprintf(stderr, "dbproxyctl: unknown command '%s'\n", cmd.c_str());
    Usage(stderr);
    return kExitUsage;
  }

  if (cmd == "config-check" && !config_path.empty()) {
    auto cfg = dbproxy::config::LoadConfigFile(config_path);
    if (json) {
      printf("{\"ok\":%s,\"path\":\"%s\"}\n", cfg.ok() ? "true" : "false", config_path.c_str());
    } else if (cfg.ok()) {
      printf("%s: ok\n", config_path.c_str());
    } else {
      fprintf(stderr, "%s\n", cfg.status().message().c_str());
    }
    return cfg.ok() ? 0 : kExitRefused;
  }

  if (socket_path.empty() && !config_path.empty()) {
    auto cfg = dbproxy::config::LoadConfigFile(config_path);
    if (!cfg.ok()) {
      fprintf(stderr, "dbproxyctl: %s\n", cfg.status().message().c_str());
      return kExitUsage;
    }
    socket_path = cfg->admin.socket;
  }
  if (socket_path.empty()) {
    socket_path = kDefaultSocket;
  }

  std::string line = cmd + (words.size() == 2 ? " " + words[1] : "");
  std::string answer, error;
  if (!Ask(socket_path, line, &answer, &error)) {
    fprintf(stderr, "dbproxyctl: %s (is dbproxyd running?)\n", error.c_str());
    return kExitUnreachable;
  }
  JsonValue doc;
  if (!ParseJson(answer, &doc)) {
    fprintf(stderr, "dbproxyctl: unreadable answer from the daemon: %s\n", answer.c_str());
    return kExitRefused;
  }
  bool ok = doc["ok"].boolean;
  if (json) {
    fputs(answer.c_str(), stdout);
    return ok ? 0 : kExitRefused;
  }
  if (!ok) {
    fprintf(stderr, "dbproxyctl: %s refused: %s\n", cmd.c_str(), doc["error"].Scalar().c_str());
    if (cmd == "reload") {
      fprintf(stderr, "the serving generation %s is unchanged\n",
              doc["generation"].Scalar().c_str());
    }
    return kExitRefused;
  }
  if (cmd == "status") {
    PrintStatus(doc["status"]);
  }
  if (cmd == "modules") {
    PrintModules(doc["modules"]);
  }
  if (cmd == "config-check") {
    printf("%s: ok\n", doc["path"].Scalar().c_str());
  }
  if (cmd == "reload") {
    printf("reloaded: generation %s now serving\n", doc["generation"].Scalar().c_str());
    printf("  loaded:    %s\n  unloaded:  %s\n  unchanged: %s\n", Join(doc["loaded"]).c_str(),
           Join(doc["unloaded"]).c_str(), Join(doc["unchanged"]).c_str());
    if (!doc["restart_required"].items.empty()) {
      printf("  needs a restart to apply: %s\n", Join(doc["restart_required"]).c_str());
    }
  }
  return 0;
}
