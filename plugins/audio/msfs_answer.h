#pragma once

// Reads the media server's JSON answer to an upload, e.g.
//   {"error_code":0,"error_msg":"成功","path":"g0/000/000/1.audio","url":"http://..."}
// Only the top-level "error_code" (a number, or a string holding one) and "url" (a string)
// matter; other members and nested values are skipped. A small strict reader of our own:
// no JSON library for two fields. Pure function; any thread.

#include <optional>
#include <string>
#include <string_view>

namespace dbproxy::plugins::audio {

// The url of a successful upload: nullopt unless the text is one JSON object whose
// error_code is 0 and whose url is a non-empty string (escapes decoded, e.g. "\/").
std::optional<std::string> ParseUploadAnswer(std::string_view json);

}  // namespace dbproxy::plugins::audio
