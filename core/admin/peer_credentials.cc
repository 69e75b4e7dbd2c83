#include "core/admin/peer_credentials.h"

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// Linux 4.13+; older C libraries do not name it.
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

namespace dbproxy::admin {

Result<PeerCredentials> ReadPeerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    return Status::Unavailable(std::string("SO_PEERCRED: ") + std::strerror(errno));
  }
  PeerCredentials peer;
  peer.pid = cred.pid;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  // The kernel says how much room it needs (ERANGE) when the first guess is too small.
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      peer.groups = std::move(groups);
      return peer;
    }
    if (errno != ERANGE) {
      break;
    }
    groups.resize(bytes / sizeof(gid_t) + 1);
  }
  // Without SO_PEERGROUPS only the primary group counts: refusing a supplementary member
  // is the safe side of not knowing.
  return peer;
}

AdminAccess::AdminAccess(uid_t daemon_uid, std::optional<gid_t> group, std::string group_name)
    : daemon_uid_(daemon_uid), group_(group), group_name_(std::move(group_name)) {}

bool AdminAccess::Admits(const PeerCredentials& peer) const {
  if (peer.uid == 0 || peer.uid == daemon_uid_) {
    return true;
  }
  if (!group_) {
    return false;
  }
  return peer.gid == *group_ ||
         std::find(peer.groups.begin(), peer.groups.end(), *group_) != peer.groups.end();
}

std::string AdminAccess::Refusal(const PeerCredentials& peer) const {
  std::string out = "uid " + std::to_string(peer.uid) + " (gid " + std::to_string(peer.gid) +
                    ") is not root, not the daemon's user (uid " + std::to_string(daemon_uid_) +
                    ")";
  if (group_) {
    out += " and not in group " + group_name_ + " (gid " + std::to_string(*group_) + ")";
  } else {
    out += " (group " + group_name_ + " does not exist, so no group may use the socket)";
  }
  return out;
}

std::string AdminAccess::Describe() const {
  std::string out = "root, uid " + std::to_string(daemon_uid_);
  if (group_) {
    out += " and group " + group_name_ + " (gid " + std::to_string(*group_) + ")";
  }
  return out;
}

Result<std::optional<gid_t>> LookUpGroup(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  while (true) {
    int rc = getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 22)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 && rc != ENOENT && rc != ESRCH) {
      return Status::Internal("looking up group " + name + ": " + std::strerror(rc));
    }
    break;
  }
  if (found == nullptr) {
    return std::optional<gid_t>();
  }
  return std::optional<gid_t>(found->gr_gid);
}

}  // namespace dbproxy::admin
