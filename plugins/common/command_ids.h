#pragma once

// Service and command ids of the TeamTalk wire protocol (IM.BaseDefine enums), as plain
// integers so handlers and tests need no protobuf include to name them.

#include <cstdint>

namespace dbproxy::plugins {

namespace sid {
inline constexpr uint16_t kLogin = 0x0001;
inline constexpr uint16_t kBuddyList = 0x0002;
inline constexpr uint16_t kMsg = 0x0003;
inline constexpr uint16_t kGroup = 0x0004;
inline constexpr uint16_t kFile = 0x0005;
inline constexpr uint16_t kOther = 0x0007;
}  // namespace sid

namespace cid {
inline constexpr uint16_t kLoginReqDeviceToken = 0x0108;
inline constexpr uint16_t kLoginResDeviceToken = 0x0109;
inline constexpr uint16_t kLoginReqPushShield = 0x010c;
inline constexpr uint16_t kLoginResPushShield = 0x010d;
inline constexpr uint16_t kLoginReqQueryPushShield = 0x010e;
inline constexpr uint16_t kLoginResQueryPushShield = 0x010f;

inline constexpr uint16_t kBuddyRecentSessionReq = 0x0201;
inline constexpr uint16_t kBuddyRecentSessionRsp = 0x0202;
inline constexpr uint16_t kBuddyUserInfoReq = 0x0204;
inline constexpr uint16_t kBuddyUserInfoRsp = 0x0205;
inline constexpr uint16_t kBuddyRemoveSessionReq = 0x0206;
inline constexpr uint16_t kBuddyRemoveSessionRsp = 0x0207;
inline constexpr uint16_t kBuddyAllUserReq = 0x0208;
inline constexpr uint16_t kBuddyAllUserRsp = 0x0209;
inline constexpr uint16_t kBuddyChangeAvatarReq = 0x020c;
inline constexpr uint16_t kBuddyChangeAvatarRsp = 0x020d;
inline constexpr uint16_t kBuddyDepartmentReq = 0x0210;
inline constexpr uint16_t kBuddyDepartmentRsp = 0x0211;
inline constexpr uint16_t kBuddyChangeSignInfoReq = 0x0213;
inline constexpr uint16_t kBuddyChangeSignInfoRsp = 0x0214;

inline constexpr uint16_t kMsgData = 0x0301;
inline constexpr uint16_t kMsgReadAck = 0x0303;
inline constexpr uint16_t kMsgUnreadCntReq = 0x0307;
inline constexpr uint16_t kMsgUnreadCntRsp = 0x0308;
inline constexpr uint16_t kMsgListReq = 0x0309;
inline constexpr uint16_t kMsgListRsp = 0x030a;
inline constexpr uint16_t kMsgGetLatestMsgIdReq = 0x030b;
inline constexpr uint16_t kMsgGetLatestMsgIdRsp = 0x030c;
inline constexpr uint16_t kMsgGetByMsgIdReq = 0x030d;
inline constexpr uint16_t kMsgGetByMsgIdRsp = 0x030e;

inline constexpr uint16_t kGroupNormalListReq = 0x0401;
inline constexpr uint16_t kGroupNormalListRsp = 0x0402;
inline constexpr uint16_t kGroupInfoReq = 0x0403;
inline constexpr uint16_t kGroupInfoRsp = 0x0404;
inline constexpr uint16_t kGroupCreateReq = 0x0405;
inline constexpr uint16_t kGroupCreateRsp = 0x0406;
inline constexpr uint16_t kGroupChangeMemberReq = 0x0407;
inline constexpr uint16_t kGroupChangeMemberRsp = 0x0408;
inline constexpr uint16_t kGroupShieldReq = 0x0409;
inline constexpr uint16_t kGroupShieldRsp = 0x040a;

inline constexpr uint16_t kFileHasOfflineReq = 0x0509;
inline constexpr uint16_t kFileHasOfflineRsp = 0x050a;
inline constexpr uint16_t kFileAddOfflineReq = 0x050b;
inline constexpr uint16_t kFileDelOfflineReq = 0x050c;

inline constexpr uint16_t kOtherHeartbeat = 0x0701;
inline constexpr uint16_t kOtherStopRecvPacket = 0x0702;
inline constexpr uint16_t kOtherValidateReq = 0x0703;
inline constexpr uint16_t kOtherValidateRsp = 0x0704;
inline constexpr uint16_t kOtherGetDeviceTokenReq = 0x0705;
inline constexpr uint16_t kOtherGetDeviceTokenRsp = 0x0706;
inline constexpr uint16_t kOtherGetShieldReq = 0x0711;
inline constexpr uint16_t kOtherGetShieldRsp = 0x0712;

// Internal command ids (DBP_CMD_INTERNAL): never reachable from the network. 0xF000+.
inline constexpr uint16_t kInternalGroupMembers = 0xF001;  // group_member: membership query
inline constexpr uint16_t kInternalAudioSave = 0xF010;     // audio: upload, store IMAudio
inline constexpr uint16_t kInternalAudioLoad = 0xF011;     // audio: expand stored audio ids
}  // namespace cid

}  // namespace dbproxy::plugins
