#include "plugins/message/order_key.h"

#include <string>

#include <gtest/gtest.h>

#include "IM.Message.pb.h"

namespace dbproxy::plugins::message {
namespace {

std::string Body(uint32_t from, uint32_t to, IM::BaseDefine::MsgType type,
                 const std::string& data = "hello", const std::string& attach = "") {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(to);
  msg.set_msg_id(0);
  msg.set_create_time(1700000000);
  msg.set_msg_type(type);
  msg.set_msg_data(data);
  if (!attach.empty()) {
    msg.set_attach_data(attach);
  }
  return msg.SerializeAsString();
}

TEST(ConversationFields, ReadsFromToAndTypeOfARealMessage) {
  ConversationFields f;
  ASSERT_TRUE(ReadConversationFields(
      Body(123456, 7, IM::BaseDefine::MSG_TYPE_GROUP_AUDIO, std::string(300, 'x'), "at"), &f));
  EXPECT_EQ(f.from_user_id, 123456u);
  EXPECT_EQ(f.to_session_id, 7u);
  EXPECT_EQ(f.msg_type, 0x12u);
}

TEST(ConversationFields, KeepsTheLastOccurrenceOfAField) {
  std::string body = Body(1, 2, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  body += std::string("\x08\x09", 2);  // field 1 = 9 again
  ConversationFields f;
  ASSERT_TRUE(ReadConversationFields(body, &f));
  EXPECT_EQ(f.from_user_id, 9u);
}

TEST(ConversationFields, RejectsTruncatedAndMalformedBodies) {
  ConversationFields f;
  std::string body = Body(1, 2, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  EXPECT_FALSE(ReadConversationFields(body.substr(0, body.size() - 2), &f));
  EXPECT_FALSE(ReadConversationFields(std::string("\xff\xff\xff", 3), &f));
  EXPECT_FALSE(ReadConversationFields(std::string("\x00\x01", 2), &f));  // field number 0
  EXPECT_FALSE(ReadConversationFields(std::string("\x0b", 1), &f));      // start group
}

TEST(ConversationKey, IsTheSameForBothDirectionsOfAPair) {
  const uint64_t ab = ConversationKey(Body(10, 20, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT));
  const uint64_t ba = ConversationKey(Body(20, 10, IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO));
  EXPECT_NE(ab, 0u);
  EXPECT_EQ(ab, ba);
}

TEST(ConversationKey, DiffersBetweenPairsGroupsAndKinds) {
  const uint64_t pair = ConversationKey(Body(10, 20, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT));
  const uint64_t other_pair = ConversationKey(Body(10, 21, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT));
  const uint64_t group = ConversationKey(Body(10, 20, IM::BaseDefine::MSG_TYPE_GROUP_TEXT));
  const uint64_t same_group = ConversationKey(Body(99, 20, IM::BaseDefine::MSG_TYPE_GROUP_AUDIO));
  EXPECT_NE(pair, other_pair);
  EXPECT_NE(pair, group);
  EXPECT_NE(group, 0u);
  EXPECT_EQ(group, same_group);  // every member of a group shares its order
}

TEST(ConversationKey, IsZeroForUnreadableBodiesAndInvalidTypes) {
  EXPECT_EQ(ConversationKey(std::string("\xff\xff", 2)), 0u);
  EXPECT_EQ(ConversationKey(""), 0u);  // no msg_type at all
  // msg_type 7 is not a MsgType.
  std::string body = Body(1, 2, IM::BaseDefine::MSG_TYPE_SINGLE_TEXT) + std::string("\x28\x07", 2);
  EXPECT_EQ(ConversationKey(body), 0u);
  uint8_t raw[] = {0x28, 0x01};  // only msg_type 1: a pair (0, 0), still ordered
  EXPECT_NE(ConversationOrderKey(raw, sizeof(raw), nullptr), 0u);
  EXPECT_EQ(ConversationOrderKey(nullptr, 0, nullptr), 0u);
}

}  // namespace
}  // namespace dbproxy::plugins::message
