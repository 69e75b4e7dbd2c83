#include "tests/fault/command_catalog.h"

#include <cstdio>
#include <set>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Group.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"

namespace dbproxy::testing::fault {
namespace {

namespace base = IM::BaseDefine;

constexpr uint16_t kSidLogin = 1;
constexpr uint16_t kSidBuddy = 2;
constexpr uint16_t kSidMsg = 3;
constexpr uint16_t kSidGroup = 4;
constexpr uint16_t kSidFile = 5;
constexpr uint16_t kSidOther = 7;

std::string Str(uint64_t v) { return std::to_string(v); }

// "" when ok, else why.
std::string Expect(bool ok, const std::string& why) { return ok ? "" : why; }

template <class Req, class Rsp>
CommandCase Make(std::string_view module, uint16_t sid, uint16_t request_cmd, uint16_t response_cmd,
                 std::function<Req(int)> valid, std::function<std::string(const Rsp&)> failure,
                 std::function<std::string(const Rsp&, int)> success, bool needs_mysql,
                 bool needs_redis) {
  CommandCase c;
  c.module = module;
  c.service_id = sid;
  c.request_cmd = request_cmd;
  c.response_cmd = response_cmd;
  c.new_request = [] { return std::unique_ptr<MessageLite>(new Req()); };
  c.new_response = [] { return std::unique_ptr<MessageLite>(new Rsp()); };
  c.valid_body = [valid](int round) { return valid(round).SerializeAsString(); };
  if (failure) {
    c.failure_problem = [failure](const MessageLite& m) {
      return failure(static_cast<const Rsp&>(m));
    };
  }
  c.success_problem = [success](const MessageLite& m, int round) {
    return success(static_cast<const Rsp&>(m), round);
  };
  c.needs_mysql = needs_mysql;
  c.needs_redis = needs_redis;
  return c;
}

template <class Req>
CommandCase MakeNoReply(std::string_view module, uint16_t sid, uint16_t request_cmd,
                        std::function<Req(int)> valid) {
  CommandCase c;
  c.module = module;
  c.service_id = sid;
  c.request_cmd = request_cmd;
  c.new_request = [] { return std::unique_ptr<MessageLite>(new Req()); };
  c.valid_body = [valid](int round) { return valid(round).SerializeAsString(); };
  return c;
}

std::string ResultFailed(uint32_t result_code) {
  return Expect(result_code != 0, "result_code 0 (success)");
}

std::string ListEmpty(int size) { return Expect(size == 0, Str(size) + " list entries"); }

std::string ResultOk(uint32_t result_code) {
  return Expect(result_code == 0, "result_code " + Str(result_code));
}

std::string FaultTask() { return "fault-task"; }

std::vector<CommandCase> Build() {
  std::vector<CommandCase> all;

  // ---- login
  all.push_back(Make<IM::Server::IMValidateReq, IM::Server::IMValidateRsp>(
      "login", kSidOther, 0x0703, 0x0704,
      [](int) {
        IM::Server::IMValidateReq r;
        r.set_user_name("user7");
        r.set_password(std::string(kClientPassword));
        return r;
      },
      [](const IM::Server::IMValidateRsp& r) {
        if (r.has_user_info()) {
          return std::string("user_info present");
        }
        return ResultFailed(r.result_code());
      },
      [](const IM::Server::IMValidateRsp& r, int) {
        return Expect(r.result_code() == 0 && r.user_info().user_id() == 7,
                      "result_code " + Str(r.result_code()) + ", user_info.user_id " +
                          Str(r.user_info().user_id()));
      },
      true, false));

  // ---- message (the send first: later cases read what it stored)
  all.push_back(Make<IM::Message::IMMsgData, IM::Message::IMMsgData>(
      "message", kSidMsg, 0x0301, 0x0301,
      [](int round) {
        IM::Message::IMMsgData r;
        r.set_from_user_id(kSender);
        r.set_to_session_id(kReceiver);
        r.set_msg_id(0);
        r.set_create_time(1700000000u + static_cast<uint32_t>(round));
        r.set_msg_type(base::MSG_TYPE_SINGLE_TEXT);
        r.set_msg_data("fault round " + Str(round));
        r.set_attach_data("attach");
        return r;
      },
      [](const IM::Message::IMMsgData& r) {
        return Expect(r.msg_id() == 0, "msg_id " + Str(r.msg_id()));
      },
      [](const IM::Message::IMMsgData& r, int) { return Expect(r.msg_id() != 0, "msg_id 0"); },
      true, false));

  // ---- unread (before the read ack clears the counter)
  all.push_back(Make<IM::Message::IMUnreadMsgCntReq, IM::Message::IMUnreadMsgCntRsp>(
      "unread", kSidMsg, 0x0307, 0x0308,
      [](int) {
        IM::Message::IMUnreadMsgCntReq r;
        r.set_user_id(kReceiver);
        return r;
      },
      [](const IM::Message::IMUnreadMsgCntRsp& r) {
        return Expect(
            r.unreadinfo_list_size() == 0 && r.total_cnt() == 0,
            "total_cnt " + Str(r.total_cnt()) + ", " + Str(r.unreadinfo_list_size()) + " entries");
      },
      [](const IM::Message::IMUnreadMsgCntRsp& r, int) {
        bool from_sender = false;
        for (const base::UnreadInfo& u : r.unreadinfo_list()) {
          from_sender |= u.session_id() == kSender && u.unread_cnt() > 0;
        }
        return Expect(r.total_cnt() > 0 && from_sender,
                      "total_cnt " + Str(r.total_cnt()) + ", no unread entry for user 1");
      },
      false, true));
  all.push_back(MakeNoReply<IM::Message::IMMsgDataReadAck>("unread", kSidMsg, 0x0303, [](int) {
    IM::Message::IMMsgDataReadAck r;
    r.set_user_id(kReceiver);
    r.set_session_id(kSender);
    r.set_msg_id(1);
    r.set_session_type(base::SESSION_TYPE_SINGLE);
    return r;
  }));

  // ---- session
  all.push_back(Make<IM::Buddy::IMRecentContactSessionReq, IM::Buddy::IMRecentContactSessionRsp>(
      "session", kSidBuddy, 0x0201, 0x0202,
      [](int) {
        IM::Buddy::IMRecentContactSessionReq r;
        r.set_user_id(kSender);
        r.set_latest_update_time(0);
        return r;
      },
      [](const IM::Buddy::IMRecentContactSessionRsp& r) {
        return ListEmpty(r.contact_session_list_size());
      },
      [](const IM::Buddy::IMRecentContactSessionRsp& r, int) {
        bool found = false;
        for (const base::ContactSessionInfo& s : r.contact_session_list()) {
          found |= s.session_id() == kReceiver && s.latest_msg_id() != 0;
        }
        return Expect(
            found, "no session with user 2 in " + Str(r.contact_session_list_size()) + " sessions");
      },
      true, false));
  all.push_back(Make<IM::Buddy::IMRemoveSessionReq, IM::Buddy::IMRemoveSessionRsp>(
      "session", kSidBuddy, 0x0206, 0x0207,
      [](int) {
        IM::Buddy::IMRemoveSessionReq r;
        r.set_user_id(kReceiver);
        r.set_session_type(base::SESSION_TYPE_SINGLE);
        r.set_session_id(kSender);
        return r;
      },
      [](const IM::Buddy::IMRemoveSessionRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Buddy::IMRemoveSessionRsp& r, int) { return ResultOk(r.result_code()); }, true,
      false));

  // ---- message reads
  all.push_back(Make<IM::Message::IMGetMsgListReq, IM::Message::IMGetMsgListRsp>(
      "message", kSidMsg, 0x0309, 0x030a,
      [](int) {
        IM::Message::IMGetMsgListReq r;
        r.set_user_id(kSender);
        r.set_session_type(base::SESSION_TYPE_SINGLE);
        r.set_session_id(kReceiver);
        r.set_msg_id_begin(0);
        r.set_msg_cnt(10);
        return r;
      },
      [](const IM::Message::IMGetMsgListRsp& r) { return ListEmpty(r.msg_list_size()); },
      [](const IM::Message::IMGetMsgListRsp& r, int) {
        return Expect(r.msg_list_size() > 0, "empty msg_list");
      },
      true, false));
  all.push_back(Make<IM::Message::IMGetMsgByIdReq, IM::Message::IMGetMsgByIdRsp>(
      "message", kSidMsg, 0x030d, 0x030e,
      [](int) {
        IM::Message::IMGetMsgByIdReq r;
        r.set_user_id(kSender);
        r.set_session_type(base::SESSION_TYPE_SINGLE);
        r.set_session_id(kReceiver);
        r.add_msg_id_list(1);
        r.add_msg_id_list(2);
        return r;
      },
      [](const IM::Message::IMGetMsgByIdRsp& r) { return ListEmpty(r.msg_list_size()); },
      [](const IM::Message::IMGetMsgByIdRsp& r, int) {
        return Expect(r.msg_list_size() > 0, "empty msg_list");
      },
      true, false));
  all.push_back(Make<IM::Message::IMGetLatestMsgIdReq, IM::Message::IMGetLatestMsgIdRsp>(
      "message", kSidMsg, 0x030b, 0x030c,
      [](int) {
        IM::Message::IMGetLatestMsgIdReq r;
        r.set_user_id(kSender);
        r.set_session_type(base::SESSION_TYPE_SINGLE);
        r.set_session_id(kReceiver);
        return r;
      },
      [](const IM::Message::IMGetLatestMsgIdRsp& r) {
        return Expect(r.latest_msg_id() == 0, "latest_msg_id " + Str(r.latest_msg_id()));
      },
      [](const IM::Message::IMGetLatestMsgIdRsp& r, int) {
        return Expect(r.latest_msg_id() != 0, "latest_msg_id 0");
      },
      true, false));

  // ---- user
  all.push_back(Make<IM::Buddy::IMUsersInfoReq, IM::Buddy::IMUsersInfoRsp>(
      "user", kSidBuddy, 0x0204, 0x0205,
      [](int) {
        IM::Buddy::IMUsersInfoReq r;
        r.set_user_id(kSender);
        r.add_user_id_list(1);
        r.add_user_id_list(2);
        r.add_user_id_list(3);
        return r;
      },
      [](const IM::Buddy::IMUsersInfoRsp& r) { return ListEmpty(r.user_info_list_size()); },
      [](const IM::Buddy::IMUsersInfoRsp& r, int) {
        return Expect(r.user_info_list_size() == 3, Str(r.user_info_list_size()) + " users");
      },
      true, false));
  all.push_back(Make<IM::Buddy::IMAllUserReq, IM::Buddy::IMAllUserRsp>(
      "user", kSidBuddy, 0x0208, 0x0209,
      [](int) {
        IM::Buddy::IMAllUserReq r;
        r.set_user_id(kSender);
        r.set_latest_update_time(0);
        return r;
      },
      [](const IM::Buddy::IMAllUserRsp& r) { return ListEmpty(r.user_list_size()); },
      [](const IM::Buddy::IMAllUserRsp& r, int) {
        return Expect(r.user_list_size() > 0, "empty user_list");
      },
      true, false));
  all.push_back(Make<IM::Buddy::IMDepartmentReq, IM::Buddy::IMDepartmentRsp>(
      "user", kSidBuddy, 0x0210, 0x0211,
      [](int) {
        IM::Buddy::IMDepartmentReq r;
        r.set_user_id(kSender);
        r.set_latest_update_time(0);
        return r;
      },
      [](const IM::Buddy::IMDepartmentRsp& r) { return ListEmpty(r.dept_list_size()); },
      [](const IM::Buddy::IMDepartmentRsp& r, int) {
        return Expect(r.dept_list_size() > 0, "empty dept_list");
      },
      true, false));
  all.push_back(Make<IM::Buddy::IMChangeSignInfoReq, IM::Buddy::IMChangeSignInfoRsp>(
      "user", kSidBuddy, 0x0213, 0x0214,
      [](int round) {
        IM::Buddy::IMChangeSignInfoReq r;
        r.set_user_id(9);
        r.set_sign_info("sign round " + Str(round));
        return r;
      },
      [](const IM::Buddy::IMChangeSignInfoRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Buddy::IMChangeSignInfoRsp& r, int) { return ResultOk(r.result_code()); }, true,
      false));
  all.push_back(Make<IM::Buddy::IMChangeAvatarReq, IM::Buddy::IMChangeAvatarRsp>(
      "user", kSidBuddy, 0x020c, 0x020d,
      [](int round) {
        IM::Buddy::IMChangeAvatarReq r;
        r.set_user_id(9);
        r.set_avatar_url("http://img.example/" + Str(round) + ".png");
        return r;
      },
      [](const IM::Buddy::IMChangeAvatarRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Buddy::IMChangeAvatarRsp& r, int) { return ResultOk(r.result_code()); }, true,
      false));

  // ---- push
  all.push_back(Make<IM::Login::IMPushShieldReq, IM::Login::IMPushShieldRsp>(
      "push", kSidLogin, 0x010c, 0x010d,
      [](int round) {
        IM::Login::IMPushShieldReq r;
        r.set_user_id(8);
        r.set_shield_status(static_cast<uint32_t>(round % 2));
        return r;
      },
      [](const IM::Login::IMPushShieldRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Login::IMPushShieldRsp& r, int) { return ResultOk(r.result_code()); }, true,
      false));
  all.push_back(Make<IM::Login::IMQueryPushShieldReq, IM::Login::IMQueryPushShieldRsp>(
      "push", kSidLogin, 0x010e, 0x010f,
      [](int) {
        IM::Login::IMQueryPushShieldReq r;
        r.set_user_id(8);
        return r;
      },
      [](const IM::Login::IMQueryPushShieldRsp& r) {
        if (r.has_shield_status()) {
          return std::string("shield_status present");
        }
        return ResultFailed(r.result_code());
      },
      [](const IM::Login::IMQueryPushShieldRsp& r, int) {
        return Expect(r.result_code() == 0 && r.has_shield_status(),
                      "result_code " + Str(r.result_code()));
      },
      true, false));
  all.push_back(Make<IM::Login::IMDeviceTokenReq, IM::Login::IMDeviceTokenRsp>(
      "push", kSidLogin, 0x0108, 0x0109,
      [](int) {
        IM::Login::IMDeviceTokenReq r;
        r.set_user_id(10);
        r.set_device_token("token-10");
        r.set_client_type(base::CLIENT_TYPE_ANDROID);
        return r;
      },
      nullptr,
      [](const IM::Login::IMDeviceTokenRsp& r, int) {
        return Expect(r.user_id() == 10, "user_id " + Str(r.user_id()));
      },
      false, true));
  all.push_back(Make<IM::Server::IMGetDeviceTokenReq, IM::Server::IMGetDeviceTokenRsp>(
      "push", kSidOther, 0x0705, 0x0706,
      [](int) {
        IM::Server::IMGetDeviceTokenReq r;
        r.add_user_id(10);
        r.add_user_id(11);
        return r;
      },
      [](const IM::Server::IMGetDeviceTokenRsp& r) { return ListEmpty(r.user_token_info_size()); },
      [](const IM::Server::IMGetDeviceTokenRsp& r, int) {
        return Expect(r.user_token_info_size() == 1 && r.user_token_info(0).user_id() == 10 &&
                          r.user_token_info(0).token() == "token-10",
                      Str(r.user_token_info_size()) + " tokens");
      },
      false, true));

  // ---- group_chat and group_member
  all.push_back(Make<IM::Group::IMNormalGroupListReq, IM::Group::IMNormalGroupListRsp>(
      "group_chat", kSidGroup, 0x0401, 0x0402,
      [](int) {
        IM::Group::IMNormalGroupListReq r;
        r.set_user_id(kSender);
        return r;
      },
      [](const IM::Group::IMNormalGroupListRsp& r) {
        return ListEmpty(r.group_version_list_size());
      },
      [](const IM::Group::IMNormalGroupListRsp& r, int) {
        return Expect(r.group_version_list_size() >= 3,
                      Str(r.group_version_list_size()) + " groups");
      },
      true, false));
  all.push_back(Make<IM::Group::IMGroupInfoListReq, IM::Group::IMGroupInfoListRsp>(
      "group_chat", kSidGroup, 0x0403, 0x0404,
      [](int) {
        IM::Group::IMGroupInfoListReq r;
        r.set_user_id(kSender);
        for (uint32_t gid : {1u, 2u}) {
          base::GroupVersionInfo* v = r.add_group_version_list();
          v->set_group_id(gid);
          v->set_version(0);
        }
        return r;
      },
      [](const IM::Group::IMGroupInfoListRsp& r) { return ListEmpty(r.group_info_list_size()); },
      [](const IM::Group::IMGroupInfoListRsp& r, int) {
        return Expect(
            r.group_info_list_size() == 2 && r.group_info_list(0).group_member_list_size() > 0,
            Str(r.group_info_list_size()) + " groups");
      },
      true, false));
  all.push_back(Make<IM::Group::IMGroupCreateReq, IM::Group::IMGroupCreateRsp>(
      "group_chat", kSidGroup, 0x0405, 0x0406,
      [](int round) {
        IM::Group::IMGroupCreateReq r;
        r.set_user_id(kSender);
        r.set_group_type(base::GROUP_TYPE_NORMAL);
        r.set_group_name("fault-" + Str(round));
        r.set_group_avatar("");
        r.add_member_id_list(1);
        r.add_member_id_list(2);
        r.add_member_id_list(3);
        return r;
      },
      [](const IM::Group::IMGroupCreateRsp& r) {
        if (r.group_id() != 0) {
          return "group_id " + Str(r.group_id());
        }
        return ResultFailed(r.result_code());
      },
      [](const IM::Group::IMGroupCreateRsp& r, int) {
        return Expect(r.result_code() == 0 && r.group_id() != 0,
                      "result_code " + Str(r.result_code()) + ", group_id " + Str(r.group_id()));
      },
      true, false));
  all.push_back(Make<IM::Group::IMGroupChangeMemberReq, IM::Group::IMGroupChangeMemberRsp>(
      "group_member", kSidGroup, 0x0407, 0x0408,
      [](int round) {
        IM::Group::IMGroupChangeMemberReq r;
        r.set_user_id(kSender);
        r.set_change_type(base::GROUP_MODIFY_TYPE_ADD);
        r.set_group_id(1);
        r.add_member_id_list(100 + static_cast<uint32_t>(round % 900));
        return r;
      },
      [](const IM::Group::IMGroupChangeMemberRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Group::IMGroupChangeMemberRsp& r, int round) {
        return Expect(r.result_code() == 0 && r.chg_user_id_list_size() == 1 &&
                          r.chg_user_id_list(0) == 100 + static_cast<uint32_t>(round % 900),
                      "result_code " + Str(r.result_code()) + ", " +
                          Str(r.chg_user_id_list_size()) + " changed");
      },
      true, false));
  all.push_back(Make<IM::Group::IMGroupShieldReq, IM::Group::IMGroupShieldRsp>(
      "group_chat", kSidGroup, 0x0409, 0x040a,
      [](int round) {
        IM::Group::IMGroupShieldReq r;
        r.set_user_id(kSender);
        r.set_group_id(1);
        r.set_shield_status(static_cast<uint32_t>(round % 2));
        return r;
      },
      [](const IM::Group::IMGroupShieldRsp& r) { return ResultFailed(r.result_code()); },
      [](const IM::Group::IMGroupShieldRsp& r, int) { return ResultOk(r.result_code()); }, false,
      true));
  all.push_back(Make<IM::Server::IMGroupGetShieldReq, IM::Server::IMGroupGetShieldRsp>(
      "group_chat", kSidOther, 0x0711, 0x0712,
      [](int) {
        IM::Server::IMGroupGetShieldReq r;
        r.set_group_id(1);
        r.add_user_id(1);
        r.add_user_id(2);
        return r;
      },
      [](const IM::Server::IMGroupGetShieldRsp& r) {
        return ListEmpty(r.shield_status_list_size());
      },
      [](const IM::Server::IMGroupGetShieldRsp& r, int) {
        return Expect(r.shield_status_list_size() == 2,
                      Str(r.shield_status_list_size()) + " entries");
      },
      false, true));

  // ---- file (add, list, delete)
  all.push_back(MakeNoReply<IM::File::IMFileAddOfflineReq>("file", kSidFile, 0x050b, [](int) {
    IM::File::IMFileAddOfflineReq r;
    r.set_from_user_id(kFileFrom);
    r.set_to_user_id(kFileTo);
    r.set_task_id(FaultTask());
    r.set_file_name("f.txt");
    r.set_file_size(10);
    return r;
  }));
  all.push_back(Make<IM::File::IMFileHasOfflineReq, IM::File::IMFileHasOfflineRsp>(
      "file", kSidFile, 0x0509, 0x050a,
      [](int) {
        IM::File::IMFileHasOfflineReq r;
        r.set_user_id(kFileTo);
        return r;
      },
      [](const IM::File::IMFileHasOfflineRsp& r) { return ListEmpty(r.offline_file_list_size()); },
      [](const IM::File::IMFileHasOfflineRsp& r, int) {
        return Expect(r.offline_file_list_size() > 0, "no offline file");
      },
      true, false));
  all.push_back(MakeNoReply<IM::File::IMFileDelOfflineReq>("file", kSidFile, 0x050c, [](int) {
    IM::File::IMFileDelOfflineReq r;
    r.set_from_user_id(kFileFrom);
    r.set_to_user_id(kFileTo);
    r.set_task_id(FaultTask());
    return r;
  }));
  return all;
}

}  // namespace

std::string CommandCase::name() const {
  char id[16];
  std::snprintf(id, sizeof id, "0x%04x", request_cmd);
  return std::string(id) + " (" + std::string(module) + ")";
}

const std::vector<CommandCase>& Catalog() {
  static const std::vector<CommandCase>* const catalog = new std::vector<CommandCase>(Build());
  return *catalog;
}

std::vector<std::string> CatalogModules() {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const CommandCase& c : Catalog()) {
    if (seen.insert(c.module).second) {
      out.emplace_back(c.module);
    }
  }
  return out;
}

}  // namespace dbproxy::testing::fault
