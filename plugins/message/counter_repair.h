#pragma once

// Raises the Redis msgId counters that a transaction owed (MessageIdCounters::Owe) but never
// raised because its process died between COMMIT and the raise: each owed counter is raised
// to the highest msgId MySQL has stored for its conversation. Any process sharing the
// storage may settle any debt -- raising to a committed maximum is always right -- and a
// debt whose id is not stored (a transaction still running, or rolled back) stays until a
// commit reaches it. A debt that is gone by the time the raise runs is left alone
// (MessageIdCounters::RaiseOwed): its id was taken back with the row that held it.
// Run from a host timer (kRepairIntervalMs).
//
// Thread: any worker; holds a teamtalk_master connection only while reading the maxima.

#include <cstdint>

#include "dbproxy/sdk.h"

namespace dbproxy::plugins::message {

inline constexpr uint32_t kRepairIntervalMs = 2000;

void RepairOwedCounters(const sdk::Host& host);

}  // namespace dbproxy::plugins::message
