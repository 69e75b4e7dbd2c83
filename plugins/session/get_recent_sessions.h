#pragma once

#include "dbproxy/sdk/plugin.h"
#include "plugins/session/config.h"
#include "plugins/session/session_store.h"
#include "plugins/session/session_write_behind.h"

namespace dbproxy::plugins::session {

// CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST 0x0201 -> 0x0202 (SID_BUDDY_LIST), spec
// H04. The user's shown sessions updated after latest_update_time, newest first, at most
// max_sessions, each with its latest message. Sessions without any message are left out
// (TeamTalk decided this with an uninitialised variable, W28); duplicate rows of one
// session are listed once. Audio shows the encrypted "[语音]" preview;
// latest_msg_from_user_id is the peer for singles (TeamTalk's quirk) and the sender for
// groups.
//
// Statements: one for the sessions, one for the relation ids and latest messages of up to
// 256 single sessions on each side of the user id, one for the latest messages of up to 256
// group sessions (TeamTalk: two per session, W26; plugins/common/latest_messages.h).
// Any failure answers an empty list; an unparsable body answers the same with the user_id
// as far as readable. attach_data is echoed.
// Thread: any worker, concurrently.
class GetRecentSessions {
 public:
  // writer flushes the user's pending sessions before each list, so the list shows every
  // stored message.
  GetRecentSessions(const sdk::Host& host, const Config& config, SessionStore& store,
                    SessionWriteBehind& writer)
      : host_(host), config_(config), store_(store), writer_(writer) {}

  void Handle(sdk::Request& request);

 private:
  const sdk::Host& host_;
  const Config& config_;
  SessionStore& store_;
  SessionWriteBehind& writer_;
};

}  // namespace dbproxy::plugins::session
