#include "plugins/group_member/order_key.h"

#include <string>

#include <gtest/gtest.h>

#include "IM.Group.pb.h"

namespace dbproxy::plugins::group_member {
namespace {

uint64_t KeyOf(const std::string& body) {
  return ChangeMemberOrderKey(reinterpret_cast<const uint8_t*>(body.data()), body.size(), nullptr);
}

std::string Request(uint32_t group_id, uint32_t user_id, int members, const std::string& attach) {
  IM::Group::IMGroupChangeMemberReq req;
  req.set_user_id(user_id);
  req.set_change_type(IM::BaseDefine::GROUP_MODIFY_TYPE_DEL);
  req.set_group_id(group_id);
  for (int i = 0; i < members; ++i) {
    req.add_member_id_list(1000000 + i);
  }
  req.set_attach_data(attach);
  std::string body;
  req.SerializeToString(&body);
  return body;
}

TEST(ChangeMemberOrderKey, IsTheSameForOneGroupWhateverElseTheRequestCarries) {
  uint64_t key = KeyOf(Request(42, 1, 0, ""));

  EXPECT_NE(key, 0u);
  EXPECT_EQ(KeyOf(Request(42, 999, 300, std::string(1000, '\xff'))), key);
}

TEST(ChangeMemberOrderKey, DiffersBetweenGroups) {
  EXPECT_NE(KeyOf(Request(42, 1, 0, "")), KeyOf(Request(43, 1, 0, "")));
  EXPECT_NE(KeyOf(Request(0, 1, 0, "")), 0u);  // group 0 is still a key
}

TEST(ChangeMemberOrderKey, FindsTheGroupAfterFieldsOfEveryWireType) {
  // An unknown fixed64 (field 9), fixed32 (field 10) and bytes field (11) before group_id 42.
  std::string prefix(
      "\x49\x01\x02\x03\x04\x05\x06\x07\x08"
      "\x55\x01\x02\x03\x04"
      "\x5a\x02zz",
      18);

  EXPECT_EQ(KeyOf(prefix + std::string("\x18\x2a", 2)), KeyOf(Request(42, 1, 0, "")));
}

TEST(ChangeMemberOrderKey, IsZeroWithoutAReadableGroupId) {
  EXPECT_EQ(KeyOf(""), 0u);
  EXPECT_EQ(KeyOf(std::string("\x08\x01", 2)), 0u);      // user_id only
  EXPECT_EQ(KeyOf(std::string("\x18", 1)), 0u);          // value cut off
  EXPECT_EQ(KeyOf(std::string("\x22\x7f\x01", 3)), 0u);  // length past the end
  EXPECT_EQ(KeyOf(std::string("\x49\x01\x02", 3)), 0u);  // fixed64 cut off
  EXPECT_EQ(KeyOf(std::string(11, '\xff')), 0u);         // varint over 10 bytes
  EXPECT_EQ(KeyOf(std::string("\x1b\x18\x2a", 3)), 0u);  // start-group wire type
}

}  // namespace
}  // namespace dbproxy::plugins::group_member
