#pragma once

// Which conversations' Redis msgId counters (message_id_allocator.h) this process knows to
// equal the conversation's highest stored msgId, so that its next id needs no MAX probe of
// the message tables (message_writer.h). W8 stays: a counter is trusted only if it reads
// exactly the value this process raised it to after storing that id, in the same Redis
// data (run_id and replication id unchanged), and the MySQL msgId epoch
// (dbproxy_msgid_epoch, message_batch_store.h) read under the conversation's lock is the
// one read when that id was stored:
//   Redis lost the counter (flush, eviction, restart from an older snapshot, failover to
//   a replica that missed the write): it reads 0, or another identity answers -> probe.
//   Another writer stored ids meanwhile: the original db_proxy_server INCRBYs before its
//   insert, another dbproxyd raises before its COMMIT -> the counter reads higher -> probe.
//   Another dbproxyd could not raise: it bumps the epoch in the transaction of its rows,
//   which commits before anyone gets the conversation's lock -> new epoch -> probe.
//
// Thread: any worker, concurrently (one mutex).

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dbproxy::plugins::message {

class KnownCounters {
 public:
  // A conversation: relation id or group id.
  static uint64_t Key(bool group, uint32_t id) { return (group ? uint64_t{1} << 32 : 0) | id; }

  // True if counter, read from the Redis data `identity` under the conversation's lock in a
  // transaction that read `epoch`, is known to be the conversation's highest stored msgId.
  bool Trusted(uint64_t key, uint64_t counter, std::string_view identity, uint64_t epoch);

  // After COMMIT: the conversation's highest stored id is id, and the Redis data `identity`
  // took the raise to it, in a transaction that read `epoch`.
  void Remember(uint64_t key, uint32_t id, std::string_view identity, uint64_t epoch);

  // Whether dbproxy_msgid_epoch exists (EnsureEpochTable ran); false: never trusted.
  bool epoch_table_ready() const;
  void set_epoch_table_ready();

  // Bound: beyond this many conversations the table starts over (the next batches probe).
  static constexpr size_t kMaxEntries = 1 << 20;

 private:
  struct Entry {
    uint32_t id;
    uint32_t generation;  // of the Redis identity
    uint64_t epoch;
  };
  // The generation of identity: a new one whenever the identity differs from the last.
  uint32_t GenerationLocked(std::string_view identity);

  mutable std::mutex mu_;
  bool epoch_table_ready_ = false;             // guarded by mu_
  std::string identity_;                       // guarded by mu_
  uint32_t generation_ = 0;                    // guarded by mu_
  std::unordered_map<uint64_t, Entry> known_;  // guarded by mu_
};

}  // namespace dbproxy::plugins::message
