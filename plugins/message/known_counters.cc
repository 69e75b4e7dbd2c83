#include "plugins/message/known_counters.h"

namespace dbproxy::plugins::message {

uint32_t KnownCounters::GenerationLocked(std::string_view identity) {
  if (identity != identity_) {
    identity_ = std::string(identity);
    ++generation_;
  }
  return generation_;
}

bool KnownCounters::Trusted(uint64_t key, uint64_t counter, std::string_view identity,
                            uint64_t epoch) {
  if (identity.empty() || counter == 0) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!epoch_table_ready_) {
    return false;
  }
  const uint32_t generation = GenerationLocked(identity);
  auto it = known_.find(key);
  return it != known_.end() && it->second.id == counter && it->second.generation == generation &&
         it->second.epoch == epoch;
}

void KnownCounters::Remember(uint64_t key, uint32_t id, std::string_view identity, uint64_t epoch) {
  if (identity.empty()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t generation = GenerationLocked(identity);
  if (known_.size() >= kMaxEntries && known_.count(key) == 0) {
    known_.clear();
  }
  known_[key] = Entry{id, generation, epoch};
}

bool KnownCounters::epoch_table_ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_table_ready_;
}

void KnownCounters::set_epoch_table_ready() {
  std::lock_guard<std::mutex> lock(mu_);
  epoch_table_ready_ = true;
}

}  // namespace dbproxy::plugins::message
