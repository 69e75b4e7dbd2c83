#include "core/base/status.h"

namespace dbproxy {

const char* ErrorName(int code) {
  switch (code) {
    case DBP_OK:
      return "ok";
    case DBP_E_INVALID:
      return "invalid argument";
    case DBP_E_STATE:
      return "not allowed in this state";
    case DBP_E_NOT_FOUND:
      return "not found";
    case DBP_E_TIMEOUT:
      return "timeout";
    case DBP_E_UNAVAILABLE:
      return "unavailable";
    case DBP_E_MYSQL:
      return "mysql error";
    case DBP_E_REDIS:
      return "redis error";
    case DBP_E_CONFIG:
      return "config error";
    case DBP_E_CONFLICT:
      return "conflict";
    case DBP_E_NOMEM:
      return "out of memory";
    case DBP_E_INTERNAL:
      return "internal error";
    default:
      return "unknown error";
  }
}

std::string Status::ToString() const {
  if (ok()) {
    return "ok";
  }
  return std::string(ErrorName(code_)) + ": " + message_;
}

}  // namespace dbproxy
