#include "tests/support/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace dbproxy::testing {

std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return "";
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

int64_t PluginCounter(uint16_t metrics_port, std::string_view module, std::string_view name) {
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  const std::string series = "dbproxy_plugin_events_total{module=\"" + std::string(module) +
                             "\",name=\"" + std::string(name) + "\"} ";
  const size_t at = metrics.find(series);
  if (at == std::string::npos) {
    return 0;
  }
  return std::strtoll(metrics.c_str() + at + series.size(), nullptr, 10);
}

}  // namespace dbproxy::testing
