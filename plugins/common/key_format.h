#pragma once

// Redis key names and MySQL shard tables shared by the TeamTalk-compatible modules. These
// strings are the data format an existing deployment already has: never change them.

#include <cstdint>
#include <string>

namespace dbproxy::plugins::keys {

// Redis instance names (config: redis.<name>).
inline constexpr const char* kUnreadInstance = "unread";
inline constexpr const char* kGroupSetInstance = "group_set";
inline constexpr const char* kTokenInstance = "token";
inline constexpr const char* kGroupMemberInstance = "group_member";

// MySQL pools.
inline constexpr const char* kMasterPool = "teamtalk_master";
inline constexpr const char* kSlavePool = "teamtalk_slave";

inline std::string Num(uint64_t v) { return std::to_string(v); }

// unread: hash field <from> -> unread single messages from that user.
inline std::string UserUnread(uint32_t to_user) { return "unread_" + Num(to_user); }
// unread: last allocated msgId of a relation / a group.
inline std::string RelationMsgId(uint32_t relate_id) { return "msg_id_" + Num(relate_id); }
inline std::string GroupMsgId(uint32_t group_id) { return "group_msg_id_" + Num(group_id); }
// unread: hash field "count" -> messages ever counted for the group.
inline std::string GroupMsgCount(uint32_t group_id) { return Num(group_id) + "_im_group_msg"; }
// unread: hash field "count" -> the group count when the user last read.
inline std::string UserGroupRead(uint32_t user_id, uint32_t group_id) {
  return Num(user_id) + "_" + Num(group_id) + "_im_user_group";
}
inline constexpr const char* kCountField = "count";
// unread: unix time of the last change to the user directory (TeamTalk's marker name).
inline constexpr const char* kTotalUserUpdate = "total_user_update";
// group_set: hash field "<uid>_1" -> push shield status.
inline std::string GroupSettings(uint32_t group_id) { return "group_set_" + Num(group_id); }
inline std::string GroupPushField(uint32_t user_id) { return Num(user_id) + "_1"; }
// token: device token of a user, and the reverse map token -> user id.
inline std::string DeviceOfUser(uint32_t user_id) { return "device_" + Num(user_id); }
inline std::string UserOfDevice(const std::string& token) { return "device_" + token; }
// group_member: hash field <uid> -> join time.
inline std::string GroupMembers(uint32_t group_id) { return "group_member_" + Num(group_id); }

// MySQL shards: the modulus 8 is part of the data format.
inline constexpr uint32_t kShards = 8;
inline std::string MessageTable(uint32_t relate_id) {
  return "IMMessage_" + Num(relate_id % kShards);
}
inline std::string GroupMessageTable(uint32_t group_id) {
  return "IMGroupMessage_" + Num(group_id % kShards);
}

}  // namespace dbproxy::plugins::keys
