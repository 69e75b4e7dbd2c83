#include "core/net/allow_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace dbproxy::net {
namespace {

sockaddr_storage V4(const char* text) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in*>(&s);
  a->sin_family = AF_INET;
  EXPECT_EQ(1, inet_pton(AF_INET, text, &a->sin_addr)) << text;
  return s;
}

sockaddr_storage V6(const char* text) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&s);
  a->sin6_family = AF_INET6;
  EXPECT_EQ(1, inet_pton(AF_INET6, text, &a->sin6_addr)) << text;
  return s;
}

bool Allows(const AllowList& list, const sockaddr_storage& s) {
  return list.Allows(reinterpret_cast<const sockaddr*>(&s));
}

AllowList List(const std::vector<std::string>& entries) {
  auto list = AllowList::Parse(entries);
  EXPECT_TRUE(list.ok()) << list.status().message();
  return list.ok() ? std::move(list).value() : AllowList();
}

TEST(ParseCidr, BareAddressesAreSingleHosts) {
  auto v4 = ParseCidr("192.168.1.7");
  ASSERT_TRUE(v4.ok()) << v4.status().message();
  EXPECT_EQ(AF_INET, v4->family);
  EXPECT_EQ(32, v4->prefix);
  EXPECT_EQ("192.168.1.7/32", v4->ToString());
  auto v6 = ParseCidr("::1");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(AF_INET6, v6->family);
  EXPECT_EQ(128, v6->prefix);
  EXPECT_EQ("::1/128", v6->ToString());
}

TEST(ParseCidr, Ipv6Forms) {
  for (const char* text : {"2001:db8::/32", "fe80::/10", "::/0", "2001:db8:0:0:0:0:0:1/128",
                           "2001:db8:abcd:12::/64", "ff00::/8"}) {
    auto block = ParseCidr(text);
    EXPECT_TRUE(block.ok()) << text << ": " << block.status().message();
  }
  EXPECT_EQ("2001:db8::1/128", ParseCidr("2001:db8:0:0:0:0:0:1/128")->ToString());
  EXPECT_EQ(10, ParseCidr("fe80::/10")->prefix);
}

TEST(ParseCidr, Ipv4MappedBlocksBecomeIpv4) {
  auto block = ParseCidr("::ffff:10.0.0.0/104");
  ASSERT_TRUE(block.ok()) << block.status().message();
  EXPECT_EQ(AF_INET, block->family);
  EXPECT_EQ("10.0.0.0/8", block->ToString());
}

TEST(ParseCidr, RejectsWhatIsNotABlock) {
  for (const char* text : {"", "/8", "10.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/",
                           "10.0.0.0/8/8", "10.0.0.0/ 8", "localhost", "::1/129", "[::1]",
                           "[::1]/128", "fe80::1%lo", "1.2.3.4.5", "2001:db8:::/32", "::g",
                           "010.0.0.1", "10.0.0.0/0x8", " 10.0.0.1"}) {
    auto block = ParseCidr(text);
    EXPECT_FALSE(block.ok()) << "'" << text << "' parsed as " << block->ToString();
  }
  EXPECT_NE(std::string::npos, ParseCidr("::1/129").status().message().find("0 to 128"));
  EXPECT_NE(std::string::npos, ParseCidr("10.0.0.0/33").status().message().find("0 to 32"));
}

TEST(ParseCidr, HostBitsBelowThePrefixAreAnErrorWithTheNetworkSuggested) {
  auto v4 = ParseCidr("10.1.2.3/8");
  ASSERT_FALSE(v4.ok());
  EXPECT_NE(std::string::npos, v4.status().message().find("did you mean 10.0.0.0/8?"))
      << v4.status().message();
  auto v6 = ParseCidr("2001:db8::1/32");
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(std::string::npos, v6.status().message().find("did you mean 2001:db8::/32?"))
      << v6.status().message();
  EXPECT_FALSE(ParseCidr("192.168.1.129/25").ok());
  EXPECT_TRUE(ParseCidr("192.168.1.128/25").ok());
}

TEST(AllowList, MatchesByPrefixIncludingPartialBytes) {
  AllowList list = List({"192.168.1.128/25", "10.0.0.0/8"});
  EXPECT_TRUE(Allows(list, V4("192.168.1.128")));
  EXPECT_TRUE(Allows(list, V4("192.168.1.255")));
  EXPECT_FALSE(Allows(list, V4("192.168.1.127")));
  EXPECT_TRUE(Allows(list, V4("10.255.0.1")));
  EXPECT_FALSE(Allows(list, V4("11.0.0.1")));
}

TEST(AllowList, Ipv6Blocks) {
  AllowList list = List({"2001:db8:abcd::/48", "fe80::/10"});
  EXPECT_TRUE(Allows(list, V6("2001:db8:abcd:1::5")));
  EXPECT_FALSE(Allows(list, V6("2001:db8:abce::5")));
  EXPECT_TRUE(Allows(list, V6("febf::1")));   // fe80::/10 spans fe80.. febf
  EXPECT_FALSE(Allows(list, V6("fec0::1")));  // just past it
  EXPECT_FALSE(Allows(list, V4("10.0.0.1")));
}

TEST(AllowList, ZeroPrefixAdmitsItsWholeFamilyOnly) {
  AllowList v4 = List({"0.0.0.0/0"});
  EXPECT_TRUE(Allows(v4, V4("203.0.113.9")));
  EXPECT_FALSE(Allows(v4, V6("2001:db8::1")));
  AllowList v6 = List({"::/0"});
  EXPECT_TRUE(Allows(v6, V6("2001:db8::1")));
}

TEST(AllowList, Ipv4MappedPeersOfADualStackListenerMatchIpv4Blocks) {
  AllowList list = List({"10.0.0.0/8"});
  EXPECT_TRUE(Allows(list, V6("::ffff:10.1.2.3")));
  EXPECT_FALSE(Allows(list, V6("::ffff:11.1.2.3")));
  // A v4 block must not match an unrelated v6 address with the same low bytes.
  EXPECT_FALSE(Allows(list, V6("::10.1.2.3")));
}

TEST(AllowList, LoopbackDefault) {
  AllowList list = AllowList::Loopback();
  EXPECT_TRUE(Allows(list, V4("127.0.0.1")));
  EXPECT_TRUE(Allows(list, V4("127.3.2.1")));
  EXPECT_TRUE(Allows(list, V6("::1")));
  EXPECT_TRUE(Allows(list, V6("::ffff:127.0.0.1")));
  EXPECT_FALSE(Allows(list, V4("10.0.0.1")));
  EXPECT_FALSE(Allows(list, V6("::2")));
  EXPECT_EQ("127.0.0.0/8, ::1/128", list.ToString());
}

TEST(AllowList, OtherFamiliesAreRefused) {
  sockaddr_storage unix_peer{};
  unix_peer.ss_family = AF_UNIX;
  EXPECT_FALSE(Allows(List({"0.0.0.0/0", "::/0"}), unix_peer));
}

TEST(AllowList, ParseReportsTheFirstBadEntry) {
  auto list = AllowList::Parse({"10.0.0.0/8", "10.0.0.300", "bad"});
  ASSERT_FALSE(list.ok());
  EXPECT_NE(std::string::npos, list.status().message().find("'10.0.0.300'"))
      << list.status().message();
}

TEST(IsLoopbackHost, ListenAddresses) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("localhost"));
}

TEST(AllowListForListener, ExplicitListAppliesToEveryListener) {
  std::optional<std::vector<std::string>> allow = std::vector<std::string>{"10.0.0.0/8"};
  for (const char* host : {"127.0.0.1", "0.0.0.0", "::"}) {
    auto list = AllowListForListener(allow, host);
    ASSERT_NE(nullptr, list) << host;
    EXPECT_EQ("10.0.0.0/8", list->ToString()) << host;
    EXPECT_FALSE(Allows(*list, V4("127.0.0.1"))) << host;
  }
}

TEST(AllowListForListener, DefaultIsLoopbackOnLoopbackAndEveryoneElsewhere) {
  auto loopback = AllowListForListener(std::nullopt, "127.0.0.1");
  ASSERT_NE(nullptr, loopback);
  EXPECT_EQ("127.0.0.0/8, ::1/128", loopback->ToString());
  auto v6_loopback = AllowListForListener(std::nullopt, "::1");
  ASSERT_NE(nullptr, v6_loopback);
  EXPECT_FALSE(Allows(*v6_loopback, V6("2001:db8::1")));
  EXPECT_EQ(nullptr, AllowListForListener(std::nullopt, "0.0.0.0"));
  EXPECT_EQ(nullptr, AllowListForListener(std::nullopt, "::"));
  EXPECT_EQ(nullptr, AllowListForListener(std::nullopt, "192.0.2.10"));
}

}  // namespace
}  // namespace dbproxy::net
