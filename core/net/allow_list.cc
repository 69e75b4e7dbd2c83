#include "core/net/allow_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace dbproxy::net {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ParseAddress(const std::string& text, CidrBlock* out) {
  if (inet_pton(AF_INET, text.c_str(), out->bytes.data()) == 1) {
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->bytes.data()) == 1) {
    out->family = AF_INET6;
    return true;
  }
  return false;
}

bool ParsePrefix(std::string_view text, unsigned max, uint8_t* out) {
  if (text.empty() || text.size() > 3) {
    return false;
  }
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) {
    return false;
  }
  *out = static_cast<uint8_t>(v);
  return true;
}

// Clears every bit of bytes below the first prefix bits.
void ClearHostBits(std::array<uint8_t, 16>* bytes, size_t length, unsigned prefix) {
  for (size_t i = 0; i < length; ++i) {
    unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= prefix) {
      (*bytes)[i] = 0;
    } else if (prefix - first_bit < 8) {
      (*bytes)[i] &= static_cast<uint8_t>(0xff << (8 - (prefix - first_bit)));
    }
  }
}

}  // namespace

bool CidrBlock::Contains(int addr_family, const uint8_t* addr) const {
  if (addr_family != family) {
    return false;
  }
  unsigned full = prefix / 8;
  if (std::memcmp(addr, bytes.data(), full) != 0) {
    return false;
  }
  unsigned rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (bytes[full] & mask);
}

std::string CidrBlock::ToString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family, bytes.data(), text, sizeof(text));
  return std::string(text) + "/" + std::to_string(prefix);
}

Result<CidrBlock> ParseCidr(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  size_t slash = text.find('/');
  std::string address(text.substr(0, slash));
  CidrBlock block;
  if (address.empty() || !ParseAddress(address, &block)) {
    return Status::Invalid(quoted + " is not an IPv4 or IPv6 address or CIDR block" +
                           " (e.g. 10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1)");
  }
  const unsigned max = block.family == AF_INET ? 32 : 128;
  if (slash == std::string_view::npos) {
    block.prefix = static_cast<uint8_t>(max);
    return block;
  }
  if (!ParsePrefix(text.substr(slash + 1), max, &block.prefix)) {
    return Status::Invalid(quoted + ": the prefix length must be a number from 0 to " +
                           std::to_string(max));
  }
  CidrBlock network = block;
  ClearHostBits(&network.bytes, max / 8, block.prefix);
  if (network.bytes != block.bytes) {
    return Status::Invalid(quoted + " has host bits set below the prefix (did you mean " +
                           network.ToString() + "?)");
  }
  if (block.family == AF_INET6 && block.prefix >= 96 &&
      std::memcmp(block.bytes.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are matched as IPv4 (see Allows).
    CidrBlock v4;
    v4.family = AF_INET;
    std::memcpy(v4.bytes.data(), block.bytes.data() + sizeof(kMappedPrefix), 4);
    v4.prefix = static_cast<uint8_t>(block.prefix - 96);
    return v4;
  }
  return block;
}

bool IsLoopbackHost(const std::string& host) {
  CidrBlock addr;
  if (!ParseAddress(host, &addr)) {
    return false;
  }
  sockaddr_storage storage{};
  if (addr.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, addr.bytes.data(), 4);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, addr.bytes.data(), 16);
  }
  return AllowList::Loopback().Allows(reinterpret_cast<const sockaddr*>(&storage));
}

AllowList AllowList::Loopback() {
  AllowList list;
  list.blocks_.push_back(ParseCidr("127.0.0.0/8").value());
  list.blocks_.push_back(ParseCidr("::1/128").value());
  return list;
}

Result<AllowList> AllowList::Parse(const std::vector<std::string>& entries) {
  AllowList list;
  for (const std::string& entry : entries) {
    auto block = ParseCidr(entry);
    if (!block.ok()) {
      return block.status();
    }
    list.blocks_.push_back(block.value());
  }
  return list;
}

bool AllowList::Allows(const sockaddr* peer) const {
  int family = 0;
  const uint8_t* addr = nullptr;
  if (peer->sa_family == AF_INET) {
    family = AF_INET;
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
  } else if (peer->sa_family == AF_INET6) {
    family = AF_INET6;
    addr =
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr);
    if (std::memcmp(addr, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
      family = AF_INET;  // ::ffff:a.b.c.d from a dual-stack listener is the IPv4 peer a.b.c.d
      addr += sizeof(kMappedPrefix);
    }
  } else {
    return false;
  }
  for (const CidrBlock& block : blocks_) {
    if (block.Contains(family, addr)) {
      return true;
    }
  }
  return false;
}

std::string AllowList::ToString() const {
  std::string out;
  for (const CidrBlock& block : blocks_) {
    out += (out.empty() ? "" : ", ") + block.ToString();
  }
  return out;
}

std::shared_ptr<const AllowList> AllowListForListener(
    const std::optional<std::vector<std::string>>& allow, const std::string& listen_host) {
  if (allow) {
    auto parsed = AllowList::Parse(*allow);
    return std::make_shared<const AllowList>(parsed.ok() ? std::move(parsed).value() : AllowList());
  }
  if (IsLoopbackHost(listen_host)) {
    return std::make_shared<const AllowList>(AllowList::Loopback());
  }
  return nullptr;
}

}  // namespace dbproxy::net
