#pragma once

// TeamTalk's "users changed" marker, Redis `total_user_update` in the `unread` instance.
// dbproxy itself no longer reads it: 0x0208 asks MySQL for MAX(IMUser.updated), which
// survives restarts and sees rows edited directly in MySQL (W18). It is still written on
// every change this module makes, for tools of an existing deployment that read it.

#include <cstdint>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::user {

// SET total_user_update <now>. A Redis failure is logged (warn) and counted
// (`marker_write_errors`), never reported to the client: MySQL already holds the change.
// Thread: any worker; no pooled MySQL connection needs to be released first.
void WriteChangeMarker(const sdk::Host& host, uint32_t now);

}  // namespace dbproxy::plugins::user
