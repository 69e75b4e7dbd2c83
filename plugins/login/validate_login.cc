#include "plugins/login/validate_login.h"

#include <chrono>
#include <cstdint>
#include <string>

#include "IM.BaseDefine.pb.h"
#include "IM.Server.pb.h"
#include "plugins/common/command_ids.h"
#include "plugins/login/password_hash.h"
#include "plugins/login/user_lookup.h"

namespace dbproxy::plugins::login {
namespace {

constexpr uint32_t kResultOk = 0;
constexpr uint32_t kResultWrongPassword = 1;
constexpr uint32_t kResultInternalError = 2;
constexpr uint32_t kResultTooManyFailures = 6;

constexpr const char* kTextOk = "\xe6\x88\x90\xe5\x8a\x9f";  // 成功
// 用户名/密码错误
constexpr const char* kTextWrongPassword =
    "\xe7\x94\xa8\xe6\x88\xb7\xe5\x90\x8d/\xe5\xaf\x86\xe7\xa0\x81\xe9\x94\x99\xe8\xaf\xaf";
// 用户名/密码错误次数太多
constexpr const char* kTextTooManyFailures =
    "\xe7\x94\xa8\xe6\x88\xb7\xe5\x90\x8d/\xe5\xaf\x86\xe7\xa0\x81\xe9\x94\x99\xe8\xaf\xaf"
    "\xe6\xac\xa1\xe6\x95\xb0\xe5\xa4\xaa\xe5\xa4\x9a";
// 服务端内部错误
constexpr const char* kTextInternalError =
    "\xe6\x9c\x8d\xe5\x8a\xa1\xe7\xab\xaf\xe5\x86\x85\xe9\x83\xa8\xe9\x94\x99\xe8\xaf\xaf";

// IMUser.name is varchar(32) in utf8mb4: no stored name is longer than this, so a longer
// one can be refused without a lookup, and the limiter never keys on huge strings.
constexpr size_t kMaxNameBytes = 128;

int64_t MonotonicSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void FillUserInfo(const UserRow& u, IM::BaseDefine::UserInfo* info) {
  info->set_user_id(u.id);
  info->set_user_gender(u.sex);
  info->set_user_nick_name(u.nick);
  info->set_avatar_url(u.avatar);
  info->set_department_id(u.depart_id);
  info->set_email(u.email);
  info->set_user_real_name(u.name);
  info->set_user_tel(u.phone);
  info->set_user_domain(u.domain);
  info->set_status(0);  // a validated user is reported active, whatever the column says
  info->set_sign_info(u.sign_info);
}

}  // namespace

void ValidateLogin::Handle(sdk::Request& request) {
  IM::Server::IMValidateReq req;
  std::string_view body = request.body();
  // Partial parse: even a body that is cut short or lacks the password usually still yields
  // the user_name msg_server needs to find the waiting client.
  bool parsed =
      req.ParsePartialFromArray(body.data(), static_cast<int>(body.size())) && req.IsInitialized();

  IM::Server::IMValidateRsp rsp;
  rsp.set_user_name(req.user_name());
  rsp.set_attach_data(req.attach_data());
  auto answer = [&](uint32_t code, const char* text) {
    rsp.set_result_code(code);
    rsp.set_result_string(text);
    sdk::Status s = request.ReplyMessage(sid::kOther, cid::kOtherValidateRsp, rsp);
    if (!s.ok()) {
      host_.Warn("validate reply failed: cmd=0x0703 seq=", request.seq(), ": ", s.message());
    }
  };

  if (!parsed) {
    host_.Warn("validate: body does not parse (", body.size(), " bytes) seq=", request.seq());
    host_.Count("parse_errors");
    answer(kResultInternalError, kTextInternalError);
    return;
  }
  const std::string& name = req.user_name();
  if (name.size() > kMaxNameBytes) {
    host_.Count("login_failed");
    answer(kResultWrongPassword, kTextWrongPassword);
    return;
  }
  if (limiter_.Blocked(name, MonotonicSeconds())) {
    host_.Debug("validate: too many failures for '", name, "' seq=", request.seq());
    host_.Count("login_blocked");
    answer(kResultTooManyFailures, kTextTooManyFailures);
    return;
  }

  auto user = FindActiveUser(host_, name);
  if (!user.ok()) {
    host_.Warn("validate: user lookup failed for '", name, "' seq=", request.seq(), ": ",
               user.status().message());
    host_.Count("storage_errors");
    answer(kResultInternalError, kTextInternalError);
    return;
  }
  if (!user->has_value() || !PasswordMatches(req.password(), (*user)->salt, (*user)->password)) {
    limiter_.RecordFailure(name, MonotonicSeconds());
    host_.Count("login_failed");
    answer(kResultWrongPassword, kTextWrongPassword);
    return;
  }
  limiter_.Clear(name);
  FillUserInfo(**user, rsp.mutable_user_info());
  host_.Count("login_ok");
  answer(kResultOk, kTextOk);
}

}  // namespace dbproxy::plugins::login
