#include "tools/bench/reply_checker.h"

#include <string>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "tools/bench/request_builder.h"

namespace dbproxy::bench {
namespace {

template <class Message>
std::string Serialize(const Message& message) {
  std::string body;
  message.SerializeToString(&body);
  return body;
}

// --- request builder ----------------------------------------------------------------------

TEST(RequestBuilder, BuildsALoginLikeMsgServer) {
  RequestSpec spec;
  spec.params = {RequestKind::kLogin, 42, 0};
  BuildRequest(BuildSettings{}, &spec);
  EXPECT_EQ(spec.service_id, 0x0007);
  EXPECT_EQ(spec.command_id, 0x0703);
  EXPECT_EQ(spec.reply_command_id, 0x0704);
  IM::Server::IMValidateReq req;
  ASSERT_TRUE(req.ParseFromString(spec.body));
  EXPECT_EQ(req.user_name(), "user42");
  EXPECT_EQ(req.password(), "e10adc3949ba59abbe56e057f20f883e");
  EXPECT_EQ(req.attach_data(), std::string("\0\0\0\1\0\0\0\x2a\0\0\0\0", 12));
}

TEST(RequestBuilder, BuildsSingleAndGroupMessages) {
  BuildSettings settings;
  settings.now_s = 1'700'000'000;
  settings.msg_bytes = 40;
  RequestSpec spec;
  spec.params = {RequestKind::kSendSingle, 3, 4};
  BuildRequest(settings, &spec);
  EXPECT_EQ(spec.service_id, 0x0003);
  EXPECT_EQ(spec.command_id, 0x0301);
  EXPECT_EQ(spec.reply_command_id, 0x0301);
  IM::Message::IMMsgData msg;
  ASSERT_TRUE(msg.ParseFromString(spec.body));
  EXPECT_EQ(msg.from_user_id(), 3u);
  EXPECT_EQ(msg.to_session_id(), 4u);
  EXPECT_EQ(msg.msg_id(), 0u);
  EXPECT_EQ(msg.create_time(), 1'700'000'000u);
  EXPECT_EQ(msg.msg_type(), IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  EXPECT_EQ(msg.msg_data().size(), 40u);

  spec.params = {RequestKind::kSendGroup, 3, 4};
  BuildRequest(settings, &spec);
  ASSERT_TRUE(msg.ParseFromString(spec.body));
  EXPECT_EQ(msg.msg_type(), IM::BaseDefine::MSG_TYPE_GROUP_TEXT);
}

TEST(RequestBuilder, BuildsListRequests) {
  BuildSettings settings;
  settings.list_count = 15;
  RequestSpec spec;
  spec.params = {RequestKind::kMsgList, 8, 9};
  BuildRequest(settings, &spec);
  EXPECT_EQ(spec.command_id, 0x0309);
  EXPECT_EQ(spec.reply_command_id, 0x030a);
  IM::Message::IMGetMsgListReq list;
  ASSERT_TRUE(list.ParseFromString(spec.body));
  EXPECT_EQ(list.user_id(), 8u);
  EXPECT_EQ(list.session_id(), 9u);
  EXPECT_EQ(list.session_type(), IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(list.msg_id_begin(), 0u);
  EXPECT_EQ(list.msg_cnt(), 15u);

  spec.params = {RequestKind::kUnread, 8, 0};
  BuildRequest(settings, &spec);
  EXPECT_EQ(spec.service_id, 0x0003);
  EXPECT_EQ(spec.command_id, 0x0307);
  EXPECT_EQ(spec.reply_command_id, 0x0308);

  spec.params = {RequestKind::kRecentSession, 8, 0};
  BuildRequest(settings, &spec);
  EXPECT_EQ(spec.service_id, 0x0002);
  EXPECT_EQ(spec.command_id, 0x0201);
  EXPECT_EQ(spec.reply_command_id, 0x0202);
  IM::Buddy::IMRecentContactSessionReq recent;
  ASSERT_TRUE(recent.ParseFromString(spec.body));
  EXPECT_EQ(recent.latest_update_time(), 0u);
}

// --- reply checker ------------------------------------------------------------------------

IM::Server::IMValidateRsp GoodLogin(const RequestParams& request) {
  IM::Server::IMValidateRsp rsp;
  rsp.set_user_name(LoginName(request.user_id));
  rsp.set_result_code(0);
  rsp.set_attach_data(AttachDataFor(request));
  return rsp;
}

TEST(ReplyChecker, AcceptsASuccessfulLogin) {
  const RequestParams request{RequestKind::kLogin, 7, 0};
  const Verdict verdict = CheckReply(request, 0x0704, Serialize(GoodLogin(request)));
  EXPECT_EQ(verdict.failure, Failure::kNone);
}

TEST(ReplyChecker, CountsALoginWithANonZeroResultCode) {
  const RequestParams request{RequestKind::kLogin, 7, 0};
  IM::Server::IMValidateRsp rsp = GoodLogin(request);
  rsp.set_result_code(6);
  EXPECT_EQ(CheckReply(request, 0x0704, Serialize(rsp)).failure, Failure::kResultCode);
}

TEST(ReplyChecker, FlagsALoginAnsweredForAnotherUser) {
  const RequestParams request{RequestKind::kLogin, 7, 0};
  IM::Server::IMValidateRsp rsp = GoodLogin(request);
  rsp.set_user_name("user8");
  EXPECT_EQ(CheckReply(request, 0x0704, Serialize(rsp)).failure, Failure::kBadReply);
}

TEST(ReplyChecker, FlagsAReplyWithTheWrongCommand) {
  const RequestParams request{RequestKind::kLogin, 7, 0};
  EXPECT_EQ(CheckReply(request, 0x0308, Serialize(GoodLogin(request))).failure, Failure::kBadReply);
}

TEST(ReplyChecker, CountsAReplyMissingRequiredFieldsAsUnparsable) {
  const RequestParams request{RequestKind::kLogin, 7, 0};
  IM::Server::IMValidateRsp rsp;
  rsp.set_user_name("user7");  // result_code (required) missing
  std::string body;
  ASSERT_TRUE(rsp.SerializePartialToString(&body));
  EXPECT_EQ(CheckReply(request, 0x0704, body).failure, Failure::kUnparsable);
  EXPECT_EQ(CheckReply(request, 0x0704, "").failure, Failure::kUnparsable);
  EXPECT_EQ(CheckReply(request, 0x0704, std::string("\xff\xff\xff", 3)).failure,
            Failure::kUnparsable);
}

IM::Message::IMMsgData Echo(const RequestParams& request, uint32_t msg_id) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(request.user_id);
  msg.set_to_session_id(request.peer_id);
  msg.set_msg_id(msg_id);
  msg.set_create_time(1);
  msg.set_msg_type(request.kind == RequestKind::kSendGroup ? IM::BaseDefine::MSG_TYPE_GROUP_TEXT
                                                           : IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  msg.set_msg_data("x");
  msg.set_attach_data(AttachDataFor(request));
  return msg;
}

TEST(ReplyChecker, AcceptsAMessageWithAnId) {
  const RequestParams single{RequestKind::kSendSingle, 3, 4};
  EXPECT_EQ(CheckReply(single, 0x0301, Serialize(Echo(single, 17))).failure, Failure::kNone);
  const RequestParams group{RequestKind::kSendGroup, 3, 2};
  EXPECT_EQ(CheckReply(group, 0x0301, Serialize(Echo(group, 1))).failure, Failure::kNone);
}

TEST(ReplyChecker, CountsMsgIdZeroAsAFailure) {
  const RequestParams request{RequestKind::kSendSingle, 3, 4};
  EXPECT_EQ(CheckReply(request, 0x0301, Serialize(Echo(request, 0))).failure, Failure::kMsgIdZero);
}

TEST(ReplyChecker, FlagsAMessageEchoForAnotherRequest) {
  const RequestParams request{RequestKind::kSendSingle, 3, 4};
  IM::Message::IMMsgData msg = Echo(request, 5);
  msg.set_to_session_id(5);
  EXPECT_EQ(CheckReply(request, 0x0301, Serialize(msg)).failure, Failure::kBadReply);
  msg = Echo(request, 5);
  msg.set_attach_data("other");
  EXPECT_EQ(CheckReply(request, 0x0301, Serialize(msg)).failure, Failure::kBadReply);
  msg = Echo(request, 5);
  msg.clear_attach_data();
  EXPECT_EQ(CheckReply(request, 0x0301, Serialize(msg)).failure, Failure::kBadReply);
}

TEST(ReplyChecker, ReportsTheNumberOfUnreadConversations) {
  const RequestParams request{RequestKind::kUnread, 900, 0};
  IM::Message::IMUnreadMsgCntRsp rsp;
  rsp.set_user_id(900);
  rsp.set_total_cnt(3);
  rsp.set_attach_data(AttachDataFor(request));
  for (uint32_t peer : {1u, 2u}) {
    IM::BaseDefine::UnreadInfo* info = rsp.add_unreadinfo_list();
    info->set_session_id(peer);
    info->set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
    info->set_unread_cnt(1);
    info->set_latest_msg_id(1);
    info->set_latest_msg_data("x");
    info->set_latest_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
    info->set_latest_msg_from_user_id(peer);
  }
  const Verdict verdict = CheckReply(request, 0x0308, Serialize(rsp));
  EXPECT_EQ(verdict.failure, Failure::kNone);
  EXPECT_EQ(verdict.items, 2u);
  rsp.set_user_id(901);
  EXPECT_EQ(CheckReply(request, 0x0308, Serialize(rsp)).failure, Failure::kBadReply);
}

TEST(ReplyChecker, ReportsTheNumberOfListedMessages) {
  const RequestParams request{RequestKind::kMsgList, 1, 2};
  IM::Message::IMGetMsgListRsp rsp;
  rsp.set_user_id(1);
  rsp.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  rsp.set_session_id(2);
  rsp.set_msg_id_begin(0);
  rsp.set_attach_data(AttachDataFor(request));
  for (uint32_t id = 1; id <= 3; ++id) {
    IM::BaseDefine::MsgInfo* info = rsp.add_msg_list();
    info->set_msg_id(id);
    info->set_from_session_id(2);
    info->set_create_time(1);
    info->set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
    info->set_msg_data("x");
  }
  const Verdict verdict = CheckReply(request, 0x030a, Serialize(rsp));
  EXPECT_EQ(verdict.failure, Failure::kNone);
  EXPECT_EQ(verdict.items, 3u);
  rsp.set_session_id(3);
  EXPECT_EQ(CheckReply(request, 0x030a, Serialize(rsp)).failure, Failure::kBadReply);
}

TEST(ReplyChecker, ReportsTheNumberOfRecentSessions) {
  const RequestParams request{RequestKind::kRecentSession, 5, 0};
  IM::Buddy::IMRecentContactSessionRsp rsp;
  rsp.set_user_id(5);
  rsp.set_attach_data(AttachDataFor(request));
  const Verdict verdict = CheckReply(request, 0x0202, Serialize(rsp));
  EXPECT_EQ(verdict.failure, Failure::kNone);
  EXPECT_EQ(verdict.items, 0u);
  EXPECT_EQ(CheckReply(request, 0x0202, "").failure, Failure::kUnparsable);
}

}  // namespace
}  // namespace dbproxy::bench
