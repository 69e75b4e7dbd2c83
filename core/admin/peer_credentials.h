#pragma once

// Who is on the other end of the admin socket, and whether they may use it. The kernel
// reports the peer's credentials as they were when it connected (SO_PEERCRED for pid, uid
// and primary gid; SO_PEERGROUPS for its supplementary groups), so nothing the peer sends
// can change the answer. Plain values and pure functions: any thread.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace dbproxy::admin {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;              // effective primary group
  std::vector<gid_t> groups;  // supplementary groups
};

// The credentials of the process connected to the Unix socket fd. DBP_E_UNAVAILABLE if the
// kernel cannot say (not a Unix socket, peer gone).
Result<PeerCredentials> ReadPeerCredentials(int fd);

// The admin socket's rule: root, the daemon's own user, and members (primary or
// supplementary) of the admin group may use it; nobody else.
class AdminAccess {
 public:
  // daemon_uid: the daemon's effective uid. group: the admin group's id and name, or
  // nullopt when there is none (then only root and the daemon's user are admitted).
  AdminAccess(uid_t daemon_uid, std::optional<gid_t> group, std::string group_name);

  bool Admits(const PeerCredentials& peer) const;
  // Why peer is refused, for the peer and the log: "uid 65534 (gid 65534) is not root, not
  // the daemon's user (uid 0) and not in group dbproxy (gid 998)".
  std::string Refusal(const PeerCredentials& peer) const;
  // "root, uid 0 and group dbproxy (gid 998)", for the start-up log line.
  std::string Describe() const;

 private:
  uid_t daemon_uid_;
  std::optional<gid_t> group_;
  std::string group_name_;
};

// The gid of group name, nullopt if no such group; DBP_E_INTERNAL if the lookup fails.
Result<std::optional<gid_t>> LookUpGroup(const std::string& name);

}  // namespace dbproxy::admin
