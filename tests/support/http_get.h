#pragma once

// A minimal HTTP/1.1 GET over loopback TCP for tests that read dbproxyd's metrics endpoint.

#include <cstdint>
#include <string>
#include <string_view>

namespace dbproxy::testing {

// GET path from 127.0.0.1:port; returns the whole response (status line, headers, body),
// or "" if the connection failed. The server closes the connection after answering.
std::string HttpGet(uint16_t port, const std::string& path);

// The value of dbproxy_plugin_events_total{module=...,name=...} on the /metrics page served
// at 127.0.0.1:metrics_port; 0 when the module never counted that name.
int64_t PluginCounter(uint16_t metrics_port, std::string_view module, std::string_view name);

}  // namespace dbproxy::testing
