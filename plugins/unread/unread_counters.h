#pragma once

#include <cstdint>
#include <vector>

#include "dbproxy/sdk/plugin.h"

namespace dbproxy::plugins::unread {

// The unread counters in the Redis instance "unread", in TeamTalk's format (spec §5.2):
//   unread_<uid>                 hash  field <peer uid> -> unread single messages from peer
//   <gid>_im_group_msg           hash  field count -> messages ever counted for the group
//   <uid>_<gid>_im_user_group    hash  field count -> the group count when uid last read
// Group unread = group count - user count, or 0 when that is not positive (W13).
// Every multi-key change is one Lua script, so it is atomic (W12).
// Thread: any worker, concurrently; holds no state but the host.
class UnreadCounters {
 public:
  explicit UnreadCounters(const sdk::Host& host) : host_(host) {}

  struct SingleCount {
    uint32_t peer_id;
    uint32_t count;  // > 0
  };
  struct GroupCount {
    uint32_t group_id;
    uint32_t unread;  // > 0
  };
  // What one user has unread. Conversations with nothing unread are left out.
  struct Snapshot {
    std::vector<SingleCount> singles;  // ascending peer id
    std::vector<GroupCount> groups;    // in the order of group_ids
  };

  // One stored message to count, as in the "message.stored" event.
  struct Increment {
    uint32_t session_type;  // 1 single, 2 group
    uint32_t from;          // sender
    uint32_t to;            // receiving user (single) or group id (group)
    uint32_t msg_id = 0;    // the message's id in its conversation (AddOnce only)
  };

  // Counts every message, in order, in ONE pipelined round trip:
  //   single: HINCRBY unread_<to> <from> 1
  //   group:  one Lua script: the group count grows by one and the sender's read marker is
  //           set to the new count (their own message is not unread for them).
  // The commands run in the given order, so counters and markers end exactly as if the
  // messages were counted one by one. Returns one status per increment (same order): the
  // command's error, or for every increment the round trip's error if it failed (then
  // none, some or all of them may have been applied). session_type must be 1 or 2.
  // *round_trip_failed (if given) says whether the round trip itself failed (Redis down)
  // rather than single commands.
  std::vector<sdk::Status> Add(const std::vector<Increment>& increments,
                               bool* round_trip_failed = nullptr) const;

  // Like Add, but each message is counted at most once however often it is replayed
  // (the repair queue, repair_queue.h): per message one script checks and sets the key
  //   dbproxy_unread_counted_1_<from>_<to>_<msg_id> / dbproxy_unread_counted_2_<gid>_<msg_id>
  // (kept one day) together with the increment, so a replay whose answer was lost, or two
  // daemons replaying the same row, count it once. Same results as Add; msg_id must be set.
  std::vector<sdk::Status> AddOnce(const std::vector<Increment>& increments,
                                   bool* round_trip_failed) const;

  // user read everything from peer: HDEL unread_<user> <peer>.
  sdk::Status ClearSingle(uint32_t user_id, uint32_t peer_id) const;

  // user read everything in the group: the read marker becomes the group count (0 if the
  // group has no counter yet).
  sdk::Status ClearGroup(uint32_t user_id, uint32_t group_id) const;

  // Reads, for each query, the user's single counters and the unread of each of its groups,
  // all in one pipelined round trip. One snapshot or Redis error per query, in order (a
  // failed round trip fails them all).
  struct Query {
    uint32_t user_id;
    std::vector<uint32_t> group_ids;
  };
  std::vector<sdk::Result<Snapshot>> ReadMany(const std::vector<Query>& queries) const;

 private:
  // The snapshot of one query whose replies start at reply[at].
  // Executes a pipeline of one command per increment and maps the replies to statuses.
  std::vector<sdk::Status> Finish(sdk::RedisPipeline& pipeline,
                                  const std::vector<Increment>& increments,
                                  bool* round_trip_failed) const;
  static sdk::Result<Snapshot> ParseSnapshot(const sdk::RedisReply& reply, size_t at,
                                             const std::vector<uint32_t>& group_ids);

  const sdk::Host& host_;
};

}  // namespace dbproxy::plugins::unread
