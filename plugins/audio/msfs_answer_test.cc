#include "plugins/audio/msfs_answer.h"

#include <gtest/gtest.h>

namespace dbproxy::plugins::audio {
namespace {

TEST(ParseUploadAnswer, ReadsUrlOfASuccessfulUpload) {
  EXPECT_EQ(ParseUploadAnswer(R"({"error_code":0,"error_msg":"ok","path":"g0/1.audio",)"
                              R"("url":"http://127.0.0.1:8700/g0/1.audio"})"),
            "http://127.0.0.1:8700/g0/1.audio");
}

TEST(ParseUploadAnswer, DecodesEscapesAndSkipsOtherMembers) {
  EXPECT_EQ(ParseUploadAnswer(" {\n \"extra\": {\"a\": [1, 2.5e3, true, null, \"}\"]},\n"
                              " \"url\": \"http:\\/\\/h\\/f\\u00e9\\ud83d\\ude00\",\n"
                              " \"error_code\": \"0\" } "),
            "http://h/f\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(ParseUploadAnswer, RefusesFailuresAndMalformedText) {
  for (const char* bad : {
           R"({"error_code":1,"url":"http://h/x"})",    // the server says no
           R"({"url":"http://h/x"})",                   // no error_code
           R"({"error_code":0})",                       // no url
           R"({"error_code":0,"url":""})",              // empty url
           R"({"error_code":0,"url":7})",               // url not a string
           R"({"error_code":0.5,"url":"http://h/x"})",  // not an integer
           R"({"error_code":0,"url":"http://h/x"} x)",  // trailing garbage
           R"({"error_code":0,"url":"http://h/x")",     // unterminated object
           R"({"error_code":0,"url":"http://h/\q"})",   // bad escape
           R"({"error_code":0,"url":"\ud83d"})",        // lone surrogate
           R"([{"error_code":0,"url":"http://h/x"}])",  // not an object
           "",
           "<html>502 Bad Gateway</html>",
       }) {
    EXPECT_FALSE(ParseUploadAnswer(bad).has_value()) << bad;
  }
}

TEST(ParseUploadAnswer, RefusesDeepNesting) {
  std::string deep = R"({"error_code":0,"url":"http://h/x","n":)";
  deep += std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(ParseUploadAnswer(deep).has_value());
}

}  // namespace
}  // namespace dbproxy::plugins::audio
