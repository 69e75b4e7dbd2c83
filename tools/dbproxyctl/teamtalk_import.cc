#include "tools/dbproxyctl/teamtalk_import.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace dbproxy::ctl {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) {
    return "";
  }
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) {
    item = Trim(item);
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

bool IsNumber(const std::string& s) {
  if (s.empty() || s.size() > 9) {
    return false;
  }
  for (char c : s) {
    if (!isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool IsName(const std::string& s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// YAML double-quoted scalar.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string EnvName(const std::string& instance) {
  std::string out = "DBPROXY_MYSQL_PASSWORD_";
  for (char c : instance) {
    out += static_cast<char>(toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

struct Entry {
  std::string value;
  int line = 0;
};

class Importer {
 public:
  Importer(const std::string& text, const ImportOptions& options) : options_(options) {
    Parse(text);
  }

  ImportResult Run() {
    std::ostringstream y;
    y << "# dbproxyd configuration imported from TeamTalk's dbproxyserver.conf by\n"
         "# `dbproxyctl import-teamtalk-conf`. Check it: dbproxyd --check-config -c FILE\n"
         "# The MySQL passwords are not here: they are in the environment file ("
      << options_.env_file
      << ", mode 0600,\n# read by dbproxy.service), named by each pool's password_env.\n\n";
    Server(y);
    Mysql(y);
    Redis(y);
    Plugins(y);
    y << "\nlog:\n  level: info\n  file: \"\"  # stderr (journald under systemd)\n"
         "\nadmin:\n  socket: /run/dbproxy/dbproxy.sock\n  metrics_listen: 127.0.0.1:10601  "
         "# new: Prometheus /metrics\n";
    // The modules name these pools and instances; dbproxyd's defaults fill any left out.
    for (const char* need : {"teamtalk_master", "teamtalk_slave"}) {
      if (!listed_.count(need)) {
        result_.problems.push_back(std::string("DBInstances has no ") + need +
                                   ", which the modules use; dbproxyd's default pool applies");
      }
    }
    for (const char* need : {"unread", "group_set", "token", "group_member"}) {
      if (!listed_.count(need)) {
        result_.problems.push_back(std::string("CacheInstances has no ") + need +
                                   ", which the modules use; dbproxyd's default instance applies");
      }
    }
    for (const auto& [key, e] : entries_) {
      if (!used_.count(key)) {
        result_.problems.push_back("line " + std::to_string(e.line) + ": unknown key '" + key +
                                   "' (not imported)");
      }
    }
    result_.yaml = y.str();
    return result_;
  }

 private:
  void Parse(const std::string& text) {
    std::istringstream in(text);
    std::string raw;
    int n = 0;
    while (std::getline(in, raw)) {
      ++n;
      std::string line = Trim(raw.substr(0, raw.find('#')));
      if (line.empty()) {
        continue;
      }
      size_t eq = line.find('=');
      if (eq == std::string::npos) {
        result_.problems.push_back("line " + std::to_string(n) + ": not key=value: '" + line +
                                   "' (ignored)");
        continue;
      }
      std::string key = Trim(line.substr(0, eq));
      if (!IsName(key)) {
        result_.problems.push_back("line " + std::to_string(n) + ": malformed key '" + key +
                                   "' (ignored)");
        continue;
      }
      // As in the original: the first occurrence of a key wins.
      if (entries_.count(key)) {
        result_.problems.push_back("line " + std::to_string(n) + ": duplicate key '" + key +
                                   "' (the first, line " + std::to_string(entries_[key].line) +
                                   ", is used)");
        continue;
      }
      entries_[key] = {Trim(line.substr(eq + 1)), n};
    }
  }

  // The value of a key the original requires; a note and `fallback` when it is absent.
  std::string Get(const std::string& key, const std::string& fallback, bool* missing = nullptr) {
    used_.insert(key);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.value.empty()) {
      result_.problems.push_back("missing key " + key +
                                 " (db_proxy_server would not start); using " +
                                 (fallback.empty() ? "nothing" : fallback));
      if (missing) {
        *missing = true;
      }
      return fallback;
    }
    return it->second.value;
  }

  std::string GetNumber(const std::string& key, const std::string& fallback) {
    std::string v = Get(key, fallback);
    if (!IsNumber(v)) {
      result_.problems.push_back("line " + std::to_string(entries_[key].line) + ": " + key + "=" +
                                 v + " is not a number; using " + fallback);
      return fallback;
    }
    return v;
  }

  std::string Origin(const std::string& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? "default, " + key + " was missing"
                                : key + ", line " + std::to_string(it->second.line);
  }

  void Server(std::ostringstream& y) {
    std::vector<std::string> ips = Split(Get("ListenIP", "127.0.0.1"), ';');
    std::string port = GetNumber("ListenPort", "10600");
    y << "server:\n  listen: [";
    for (size_t i = 0; i < ips.size(); ++i) {
      y << (i ? ", " : "")
        << Quote((ips[i].find(':') != std::string::npos ? "[" + ips[i] + "]" : ips[i]) + ":" +
                 port);
    }
    y << "]  # ListenIP x ListenPort (" << Origin("ListenIP") << ")\n";
    y << "  workers: " << GetNumber("ThreadNum", "16") << "  # ThreadNum (" << Origin("ThreadNum")
      << ")\n";
    y << "  # New here, no equivalent in the original: worker_queue_limit, max_frame_bytes,\n"
         "  # max_output_buffer_bytes, max_connections, max_inflight_per_connection,\n"
         "  # heartbeat/idle/frame timeouts and shutdown_deadline_ms keep their defaults\n"
         "  # (see /etc/dbproxy/dbproxy.yaml).\n";
  }

  void Mysql(std::ostringstream& y) {
    y << "\n# DBInstances (" << Origin("DBInstances")
      << "). The modules use teamtalk_master and teamtalk_slave.\nmysql:\n";
    for (const std::string& inst :
         Split(Get("DBInstances", "teamtalk_master,teamtalk_slave"), ',')) {
      listed_.insert(inst);
      y << "  " << inst << ":\n";
      y << "    host: " << Quote(Get(inst + "_host", "127.0.0.1")) << "\n";
      y << "    port: " << GetNumber(inst + "_port", "3306") << "\n";
      y << "    database: " << Quote(Get(inst + "_dbname", "teamtalk")) << "  # _dbname\n";
      y << "    user: " << Quote(Get(inst + "_username", "teamtalk")) << "  # _username\n";
      bool no_password = false;
      std::string pw = Get(inst + "_password", "", &no_password);
      y << "    password: \"\"\n";
      y << "    password_env: " << EnvName(inst) << "  # _password, moved to " << options_.env_file
        << "\n";
      result_.env +=
          "# " + inst + "_password from dbproxyserver.conf\n" + EnvName(inst) + "=" + pw + "\n";
      y << "    pool_size: " << GetNumber(inst + "_maxconncnt", "16")
        << "  # _maxconncnt (the original pre-opened 2 and grew to this)\n";
    }
  }

  void Redis(std::ostringstream& y) {
    y << "\n# CacheInstances (" << Origin("CacheInstances")
      << "). 'sync' is configured but never used by the original.\nredis:\n";
    for (const std::string& inst :
         Split(Get("CacheInstances", "unread,group_set,token,sync,group_member"), ',')) {
      listed_.insert(inst);
      y << "  " << inst << ": { host: " << Quote(Get(inst + "_host", "127.0.0.1"))
        << ", port: " << GetNumber(inst + "_port", "6379")
        << ", db: " << GetNumber(inst + "_db", "0")
        << ", pool_size: " << GetNumber(inst + "_maxconncnt", "16") << " }\n";
    }
  }

  void Plugins(std::ostringstream& y) {
    std::string msfs = Get("MsfsSite", "");
    std::string aes = Get("aesKey", "12345678901234567890123456789012");
    if (aes.size() != 32) {
      result_.problems.push_back("line " + std::to_string(entries_["aesKey"].line) +
                                 ": aesKey must be exactly 32 characters, got " +
                                 std::to_string(aes.size()) + "; using the shipped default");
      aes = "12345678901234567890123456789012";
    }
    y << "\nplugins:\n  directory: " << options_.plugin_dir
      << "\n  staging_directory: " << options_.staging_dir
      << "\n  enabled: [login, message, unread, session, group_member, group_chat, user, push, "
         "file, audio]\n  modules:\n";
    if (!msfs.empty()) {
      // The original hands MsfsSite to curl, which takes a bare host as http://.
      std::string url =
          msfs.rfind("http://", 0) == 0 || msfs.rfind("https://", 0) == 0 ? msfs : "http://" + msfs;
      y << "    audio:\n      msfs_url: " << Quote(url) << "  # MsfsSite\n";
    } else {
      y << "    # audio.msfs_url: MsfsSite was empty or missing; audio is not stored\n";
    }
    // aesKey only builds the "[语音]" preview every client and msg_server decrypts with the
    // same compiled-in key: it is shared with every client, so it stays in the YAML.
    y << "    # aesKey: the key every client and msg_server share for the audio preview\n"
         "    # text; it is not a server secret (modules read it from here only).\n";
    for (const char* m : {"session", "unread"}) {
      y << "    " << m << ":\n      aes_key: " << Quote(aes) << "  # aesKey\n";
    }
  }

  const ImportOptions& options_;
  std::map<std::string, Entry> entries_;
  std::set<std::string> used_;
  std::set<std::string> listed_;  // DBInstances and CacheInstances
  ImportResult result_;
};

bool WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) {
    return false;
  }
  chmod(path.c_str(), mode);
  bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
  return fclose(f) == 0 && ok;
}

}  // namespace

ImportResult ImportTeamtalkConf(const std::string& conf_text, const ImportOptions& options) {
  return Importer(conf_text, options).Run();
}

int RunImportTeamtalkConf(int argc, char** argv) {
  std::string in_path, out_path, env_path;
  ImportOptions options;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--env-file" && i + 1 < argc) {
      env_path = argv[++i];
    } else if (a == "--plugin-dir" && i + 1 < argc) {
      options.plugin_dir = argv[++i];
    } else if (a == "--staging-dir" && i + 1 < argc) {
      options.staging_dir = argv[++i];
    } else if (in_path.empty() && !a.empty() && a[0] != '-') {
      in_path = a;
    } else {
      fprintf(stderr,
              "usage: dbproxyctl import-teamtalk-conf FILE [-o dbproxy.yaml] [--env-file ENV]\n"
              "       [--plugin-dir DIR] [--staging-dir DIR]\n");
      return 2;
    }
  }
  if (in_path.empty()) {
    fprintf(stderr, "dbproxyctl import-teamtalk-conf: no input file\n");
    return 2;
  }
  std::ifstream in(in_path);
  if (!in) {
    fprintf(stderr, "dbproxyctl import-teamtalk-conf: cannot read %s\n", in_path.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (env_path.empty() && !out_path.empty()) {
    env_path = out_path + ".env";
  }
  if (!env_path.empty()) {
    options.env_file = env_path;
  }
  ImportResult r = ImportTeamtalkConf(text.str(), options);
  for (const std::string& p : r.problems) {
    fprintf(stderr, "%s: %s\n", in_path.c_str(), p.c_str());
  }
  if (out_path.empty()) {
    fputs(r.yaml.c_str(), stdout);
  } else if (!WriteFile(out_path, r.yaml, 0644)) {
    fprintf(stderr, "dbproxyctl import-teamtalk-conf: cannot write %s\n", out_path.c_str());
    return 2;
  }
  if (env_path.empty()) {
    fprintf(stderr, "note: the MySQL passwords were not written (use -o or --env-file)\n");
  } else if (!WriteFile(env_path, r.env, 0600)) {
    fprintf(stderr, "dbproxyctl import-teamtalk-conf: cannot write %s\n", env_path.c_str());
    return 2;
  } else {
    fprintf(stderr,
            "note: MySQL passwords are in %s (mode 0600); install it as /etc/default/dbproxy "
            "or merge it there\n",
            env_path.c_str());
  }
  return r.problems.empty() ? 0 : 1;
}

}  // namespace dbproxy::ctl
