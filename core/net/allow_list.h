#pragma once

// Who may connect: CIDR blocks (IPv4 and IPv6) and the list a listener checks each accepted
// peer against (server.allow). The wire protocol has no authentication, so this list is the
// only gate in front of the handlers. Plain values: immutable once built, any thread.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace dbproxy::net {

// One block of addresses: an IPv4 or IPv6 network and its prefix length.
struct CidrBlock {
  int family = 0;                   // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network address; IPv4 uses the first 4
  uint8_t prefix = 0;               // 0..32 (IPv4) or 0..128 (IPv6)

  // True if addr (4 or 16 bytes, same family) lies in the block.
  bool Contains(int addr_family, const uint8_t* addr) const;
  // "10.0.0.0/8", "fe80::/10".
  std::string ToString() const;
};

// Parses "10.0.0.0/8", "192.168.1.7" (= /32), "2001:db8::/32", "::1" (= /128).
// Returns DBP_E_INVALID with a message fit for a config error when the text is not an
// address, the prefix is out of range, or host bits are set below the prefix
// ("10.0.0.1/8": the message suggests 10.0.0.0/8). No names, no zone ids, no brackets.
Result<CidrBlock> ParseCidr(std::string_view text);

// True for 127.0.0.0/8 and ::1 (and IPv4-mapped ::ffff:127.x.y.z). host is an IP address
// as written in server.listen; anything that does not parse is not loopback.
bool IsLoopbackHost(const std::string& host);

class AllowList {
 public:
  // 127.0.0.0/8 and ::1/128: the default for a listener on a loopback address.
  static AllowList Loopback();
  // Parses every entry (see ParseCidr); the first bad one is the error.
  static Result<AllowList> Parse(const std::vector<std::string>& entries);

  // True if the peer address (AF_INET or AF_INET6; IPv4-mapped IPv6 peers, as a dual-stack
  // [::] listener reports IPv4 clients, are checked as IPv4) is in one of the blocks.
  // Any other family is refused.
  bool Allows(const sockaddr* peer) const;
  // "127.0.0.0/8, ::1/128".
  std::string ToString() const;
  const std::vector<CidrBlock>& blocks() const { return blocks_; }

 private:
  std::vector<CidrBlock> blocks_;
};

// What server.allow means for a listener on listen_host (an IP address from server.listen):
// the list itself when it is set; otherwise loopback peers only for a loopback listener,
// and nullptr (every peer; start-up warns) for any other. REQUIRES: every entry of allow
// parses (the config loader checked); if one does not, the result refuses every peer.
std::shared_ptr<const AllowList> AllowListForListener(
    const std::optional<std::vector<std::string>>& allow, const std::string& listen_host);

}  // namespace dbproxy::net
