#include "plugins/common/key_format.h"

#include <string>
#include <string_view>
#include <vector>

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
  auto back = events::DecodeMessagesStored(events::Encode(e));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(1u, back->size());
  EXPECT_EQ(77u, (*back)[0].msg_id);
  EXPECT_FALSE(events::DecodeMessagesStored("short").has_value());
}

TEST(Events, MessageStoredBatchRoundTripsInOrder) {
  std::vector<events::MessageStored> batch(3);
  for (uint32_t i = 0; i < 3; ++i) {
    batch[i].session_type = 1 + i % 2;
    batch[i].from_user_id = 10 + i;
    batch[i].to_id = 20 + i;
    batch[i].msg_id = 30 + i;
    batch[i].msg_type = 1;
    batch[i].create_time = 40 + i;
    batch[i].relate_id = 50 + i;
    batch[i].stored_at = 60 + i;
  }
  std::string payload = events::EncodeBatch(batch);
  ASSERT_EQ(3 * sizeof(events::MessageStored), payload.size());

  auto back = events::DecodeMessagesStored(payload);

  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(3u, back->size());
  for (uint32_t i = 0; i < 3; ++i) {
    const events::MessageStored& e = (*back)[i];
    EXPECT_EQ(1u, e.version);
    EXPECT_EQ(1 + i % 2, e.session_type);
    EXPECT_EQ(10 + i, e.from_user_id);
    EXPECT_EQ(20 + i, e.to_id);
    EXPECT_EQ(30 + i, e.msg_id);
    EXPECT_EQ(40 + i, e.create_time);
    EXPECT_EQ(50 + i, e.relate_id);
    EXPECT_EQ(60 + i, e.stored_at);
  }
  // A single record (what Encode gives) is a batch of one.
  auto one = events::DecodeMessagesStored(events::Encode(batch[1]));
  ASSERT_TRUE(one.has_value());
  ASSERT_EQ(1u, one->size());
  EXPECT_EQ(31u, (*one)[0].msg_id);
}

TEST(Events, MessageStoredBatchRejectsBadPayloadsAsAWhole) {
  std::vector<events::MessageStored> batch(2);
  std::string payload = events::EncodeBatch(batch);
  EXPECT_FALSE(events::DecodeMessagesStored("").has_value());
  EXPECT_FALSE(events::DecodeMessagesStored(events::EncodeBatch({})).has_value());
  EXPECT_FALSE(events::DecodeMessagesStored(payload + "x").has_value());
  EXPECT_FALSE(events::DecodeMessagesStored(std::string_view(payload).substr(0, payload.size() - 1))
                   .has_value());
  batch[1].version = 2;
  EXPECT_FALSE(events::DecodeMessagesStored(events::EncodeBatch(batch)).has_value())
      << "one record of an unknown version rejects the whole payload";
  batch[1].version = 1;
  EXPECT_TRUE(events::DecodeMessagesStored(events::EncodeBatch(batch)).has_value());
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
