// `dbproxyctl import-teamtalk-conf`: turns TeamTalk db_proxy_server's dbproxyserver.conf
// (key=value, spec §6.5) into a commented dbproxy.yaml plus an environment file holding the
// MySQL passwords. Pure text in, text out; main() does the file I/O.
#pragma once

#include <string>
#include <vector>

namespace dbproxy::ctl {

struct ImportOptions {
  std::string plugin_dir = "/usr/lib/dbproxy/plugins";
  std::string staging_dir = "/var/lib/dbproxy/plugins-staged";
  std::string env_file = "/etc/default/dbproxy";  // named in the YAML's comments
};

struct ImportResult {
  std::string yaml;
  std::string env;  // VAR=value lines, for the environment file (mode 0600)
  // "line N: ..." for unknown or malformed lines, "missing key K ..." for absent ones.
  std::vector<std::string> problems;
};

ImportResult ImportTeamtalkConf(const std::string& conf_text, const ImportOptions& options);

// The subcommand: import-teamtalk-conf FILE [-o OUT.yaml] [--env-file ENV] [--plugin-dir D]
// [--staging-dir D]. Writes YAML to OUT (stdout without -o) and the env file (default
// OUT.env, or stderr-noted when writing to stdout). Exit 0 clean, 1 if problems were
// reported (the files are still written), 2 usage or I/O errors.
int RunImportTeamtalkConf(int argc, char** argv);

}  // namespace dbproxy::ctl
