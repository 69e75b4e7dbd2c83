#pragma once

// The highest MariaDB GTID seen per replication domain, for read-your-writes on replicas:
// after a commit on the primary its GTID ("domain-server-seq") is merged here; before a read
// on a replica, MASTER_GTID_WAIT(Text()) makes the replica catch up with every commit this
// process has seen. Within one domain sequence numbers only grow, so the highest one
// covers all earlier commits of that domain, whichever worker made them.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace dbproxy::storage {

struct Gtid {
  uint32_t domain = 0;
  uint32_t server = 0;
  uint64_t seq = 0;
};

// Parses one "domain-server-seq". Returns DBP_E_INVALID for anything else.
[[nodiscard]] Result<Gtid> ParseGtid(std::string_view text);

// Thread rule: every method may be called from any thread, at once.
class GtidPosition {
 public:
  struct Snapshot {
    uint64_t version = 0;  // grows with every Merge that raised a domain; 0 = nothing seen
    std::string text;      // "d-s-n,d-s-n" sorted by domain; "" when version is 0
  };

  // Merges a GTID list as MariaDB reports it ("0-1-5" or "0-1-5,1-2-9"; "" is allowed and
  // changes nothing). A domain only moves forward. Returns DBP_E_INVALID (nothing merged)
  // if an element does not parse.
  [[nodiscard]] Status Merge(std::string_view list);

  // The current position. Cheap when nothing changed: callers compare version() first.
  Snapshot Get() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::map<uint32_t, Gtid> by_domain_;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> version_{0};    // written under mu_
};

}  // namespace dbproxy::storage
