#include "plugins/common/key_format.h"

#include <gtest/gtest.h>

#include "plugins/common/events.h"
#include "plugins/common/membership.h"

namespace dbproxy::plugins {
namespace {

TEST(KeyFormat, MatchesTheTeamTalkLayout) {
  EXPECT_EQ("unread_42", keys::UserUnread(42));
  EXPECT_EQ("msg_id_7", keys::RelationMsgId(7));
  EXPECT_EQ("group_msg_id_3", keys::GroupMsgId(3));
  EXPECT_EQ("3_im_group_msg", keys::GroupMsgCount(3));
  EXPECT_EQ("9_3_im_user_group", keys::UserGroupRead(9, 3));
  EXPECT_EQ("group_set_3", keys::GroupSettings(3));
  EXPECT_EQ("9_1", keys::GroupPushField(9));
  EXPECT_EQ("device_9", keys::DeviceOfUser(9));
  EXPECT_EQ("group_member_3", keys::GroupMembers(3));
  EXPECT_EQ("IMMessage_1", keys::MessageTable(9));
  EXPECT_EQ("IMGroupMessage_0", keys::GroupMessageTable(16));
}

TEST(Events, MessageStoredRoundTripsAndRejectsOtherSizes) {
  events::MessageStored e;
  e.session_type = 1;
  e.msg_id = 77;
  auto back = events::DecodeMessageStored(events::Encode(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(77u, back->msg_id);
  EXPECT_FALSE(events::DecodeMessageStored("short").has_value());
}

TEST(Membership, AnswerRoundTrips) {
  membership::Answer a;
  a.status = membership::Lookup::kOk;
  a.members = {{5, 100}, {6, 200}};
  auto back = membership::DecodeAnswer(membership::EncodeAnswer(a));
  EXPECT_EQ(membership::Lookup::kOk, back.status);
  ASSERT_EQ(2u, back.members.size());
  EXPECT_EQ(6u, back.members[1].user_id);
  EXPECT_EQ(200u, back.members[1].join_time);
  EXPECT_EQ(membership::Lookup::kError, membership::DecodeAnswer("xyz").status);
}

}  // namespace
}  // namespace dbproxy::plugins
