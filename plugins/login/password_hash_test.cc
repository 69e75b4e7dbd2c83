#include "plugins/login/password_hash.h"

#include <gtest/gtest.h>

namespace dbproxy::plugins::login {
namespace {

TEST(PasswordHash, Md5MatchesTheKnownDigestOfAnEmptyString) {
  EXPECT_EQ("d41d8cd98f00b204e9800998ecf8427e", Md5HexLower(""));
}

TEST(PasswordHash, ClientHashOf123456MatchesTheSpecVector) {
  EXPECT_EQ("e10adc3949ba59abbe56e057f20f883e", Md5HexLower("123456"));
}

TEST(PasswordHash, AcceptsTheSpecVectorWithSalt1234) {
  EXPECT_TRUE(PasswordMatches("e10adc3949ba59abbe56e057f20f883e", "1234",
                              "b605e86d02eef8bfd0646f6a704c17c9"));
}

TEST(PasswordHash, RejectsAnotherSalt) {
  EXPECT_FALSE(PasswordMatches("e10adc3949ba59abbe56e057f20f883e", "1235",
                               "b605e86d02eef8bfd0646f6a704c17c9"));
}

TEST(PasswordHash, RejectsAnUppercaseStoredHash) {
  // TeamTalk compares the strings as they are; the admin tool stores lowercase.
  EXPECT_FALSE(PasswordMatches("e10adc3949ba59abbe56e057f20f883e", "1234",
                               "B605E86D02EEF8BFD0646F6A704C17C9"));
}

TEST(PasswordHash, RejectsAnEmptyStoredHashEvenForAnEmptyPassword) {
  EXPECT_FALSE(PasswordMatches("", "", ""));
}

}  // namespace
}  // namespace dbproxy::plugins::login
