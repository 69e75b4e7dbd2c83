#pragma once

#include <span>
#include <unordered_map>
#include <vector>

#include "IM.Message.pb.h"
#include "dbproxy/sdk/plugin.h"
#include "plugins/common/latest_messages.h"
#include "plugins/unread/config.h"
#include "plugins/unread/unread_counters.h"

namespace dbproxy::plugins::unread {

// CID_MSG_UNREAD_CNT_REQUEST 0x0307 -> CID_MSG_UNREAD_CNT_RESPONSE 0x0308 (SID_MSG), spec
// H12. Lists every conversation with unread messages, singles (ascending peer id) then
// groups (IMGroupMember order: updated desc, id desc), each with its latest message, and
// total_cnt = the sum of the listed counts.
//
// A batch command: the requests queued when a worker becomes free are answered together.
// Cost does not grow with the number of conversations (TeamTalk ran one or two queries
// per conversation), and most of it is shared by the batch: one MySQL statement for the
// groups of up to 64 users, one pipelined Redis round trip for every counter of every user,
// per user with unread single chats one statement for the relation ids and latest
// messages of up to 256 peers on each side, and one for the latest messages of the
// batch's groups with unread messages (plugins/common/latest_messages.h, which also says
// which message is the latest). A user with nothing unread costs no statement of its own.
//
// A conversation with a counter but no message row is left out (TeamTalk decided this
// with an uninitialised variable, W28). Audio shows the encrypted "[语音]" preview.
// latest_msg_from_user_id is the peer for singles (TeamTalk's quirk: not the real sender)
// and the sender for groups. Any failure answers an empty list with total 0; an unparsable
// body answers the same with the user_id as far as readable. attach_data is echoed.
// Thread: any worker, concurrently.
class GetUnreadCount {
 public:
  GetUnreadCount(const sdk::Host& host, const Config& config, const UnreadCounters& counters)
      : host_(host), config_(config), counters_(counters) {}

  void HandleBatch(std::span<sdk::Request> requests);

 private:
  struct UserView;
  // Reads what each user of the batch gets into *views (a failure is kept per user).
  void Read(const std::vector<uint32_t>& users, std::unordered_map<uint32_t, UserView>* views,
            latest_messages::LatestMap* group_latest) const;
  // Fills each view's singles from the copies of the latest messages in Redis
  // (plugins/common/latest_cache.h), one pipelined round trip for the batch; conversations
  // whose copy is missing or outdated stay out, for MySQL to answer.
  void ReadCachedLatest(const std::vector<uint32_t>& users,
                        std::unordered_map<uint32_t, UserView>* views) const;
  // Replies to one request; view null (an unparsable body or a failure) answers the empty
  // list.
  void Answer(sdk::Request& request, const IM::Message::IMUnreadMsgCntReq& req,
              const UserView* view, const latest_messages::LatestMap& group_latest) const;

  const sdk::Host& host_;
  const Config& config_;
  const UnreadCounters& counters_;
};

}  // namespace dbproxy::plugins::unread
