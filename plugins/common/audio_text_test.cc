#include "plugins/common/audio_text.h"

#include <gtest/gtest.h>

namespace dbproxy::plugins::audio_text {
namespace {

TEST(AudioText, MatchesTheSpecTestVector) {
  EXPECT_EQ("QhGXlpFjvMFUNrtl1aaPzA==",
            EncryptForClients("12345678901234567890123456789012", kAudioPlaceholder));
}

TEST(AudioText, AddsABlockWhenTheLengthDoesNotFitTheLastBlock) {
  std::string key(32, 'k');
  // 12 bytes fit one block with the length; 13 and 16 need a second one.
  EXPECT_EQ(24u, EncryptForClients(key, std::string(12, 'a')).size());  // 16 bytes -> 24 b64
  EXPECT_EQ(44u, EncryptForClients(key, std::string(13, 'a')).size());  // 32 bytes -> 44 b64
  EXPECT_EQ(44u, EncryptForClients(key, std::string(16, 'a')).size());
}

TEST(AudioText, RefusesKeysThatAreNot32Bytes) {
  EXPECT_EQ("", EncryptForClients("short", kAudioPlaceholder));
}

}  // namespace
}  // namespace dbproxy::plugins::audio_text
