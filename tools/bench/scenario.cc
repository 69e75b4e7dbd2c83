#include "tools/bench/scenario.h"

#include <algorithm>

namespace dbproxy::bench {
namespace {

// Members of the demo groups (tests/support TestDatabase, tools/up): group id -> last user.
uint32_t DemoGroupMembers(uint32_t group_id) {
  switch (group_id) {
    case 1:
      return 10;
    case 2:
      return 100;
    case 3:
      return 3;
    case 4:
      return 500;
    default:
      return 0;
  }
}

std::string RangeText(const UserRange& range) {
  return std::to_string(range.first) + "-" + std::to_string(range.last);
}

UserRange DefaultUsers(ScenarioId id) {
  switch (id) {
    case ScenarioId::kLogin:
      return {1, 1000};
    case ScenarioId::kUnreadEmpty:
      return {901, 1000};
    case ScenarioId::kUnreadMany:
      return {801, 900};
    case ScenarioId::kUnreadGroup:
      return {2, 10};
    default:
      return {1, 800};
  }
}

}  // namespace

uint64_t DistinctPairCount(uint32_t users) {
  if (users < 2) {
    return 0;
  }
  return static_cast<uint64_t>(users) * ((users - 1) / 2);
}

PairIndex NthDistinctPair(uint32_t users, uint64_t k) {
  const auto i = static_cast<uint32_t>(k % users);
  const auto d = static_cast<uint32_t>(k / users + 1);
  return {i, static_cast<uint32_t>((static_cast<uint64_t>(i) + d) % users)};
}

RequestKind MixedKindFor(int draw_0_to_99) {
  int bound = MixedWeights::kSend;
  if (draw_0_to_99 < bound) {
    return RequestKind::kSendSingle;
  }
  bound += MixedWeights::kUnread;
  if (draw_0_to_99 < bound) {
    return RequestKind::kUnread;
  }
  bound += MixedWeights::kMsgList;
  if (draw_0_to_99 < bound) {
    return RequestKind::kMsgList;
  }
  bound += MixedWeights::kRecentSession;
  if (draw_0_to_99 < bound) {
    return RequestKind::kRecentSession;
  }
  return RequestKind::kLogin;
}

std::unique_ptr<Scenario> Scenario::Create(const BenchOptions& options, std::string* error) {
  const ScenarioId id = options.scenario;
  const std::string name = ScenarioName(id);
  std::unique_ptr<Scenario> s(new Scenario(id));
  s->users_ = options.users.value_or(DefaultUsers(id));

  switch (id) {
    case ScenarioId::kLogin:
    case ScenarioId::kUnreadEmpty:
    case ScenarioId::kIdle:
      break;

    case ScenarioId::kSendExisting:
    case ScenarioId::kMsgList:
    case ScenarioId::kMixed:
      s->fixed_pairs_ = s->users_.size() / 2;
      if (s->fixed_pairs_ == 0) {
        *error = name + ": --users must hold at least 2 users (pairs A,A+1)";
        return nullptr;
      }
      // Every pair gets a message first, so "existing" holds and lists are not empty.
      s->messages_per_pair_ = (id == ScenarioId::kMsgList && options.prepare) ? options.msg_cnt : 1;
      s->prepare_count_ = static_cast<uint64_t>(s->fixed_pairs_) * s->messages_per_pair_;
      break;

    case ScenarioId::kSendNew:
      s->new_pairs_total_ = DistinctPairCount(s->users_.size());
      if (s->users_.size() < 3) {
        *error = name + ": --users must hold at least 3 users";
        return nullptr;
      }
      if (options.pair_offset >= s->new_pairs_total_) {
        *error = name + ": --pair-offset " + std::to_string(options.pair_offset) +
                 " leaves no new pair (users " + RangeText(s->users_) + " give " +
                 std::to_string(s->new_pairs_total_) + ")";
        return nullptr;
      }
      s->next_new_pair_.store(options.pair_offset);
      break;

    case ScenarioId::kGroupSend: {
      if (options.group_id == 0) {
        *error = name + ": --group-id is required (demo groups: 1, 2, 4)";
        return nullptr;
      }
      s->group_id_ = options.group_id;
      const uint32_t members = DemoGroupMembers(options.group_id);
      if (!options.users) {
        if (members == 0) {
          *error = name + ": group " + std::to_string(options.group_id) +
                   " is not a demo group; give its members with --users";
          return nullptr;
        }
        s->users_ = {1, members};
      }
      break;
    }

    case ScenarioId::kUnreadMany: {
      s->conversations_ = options.conversations;
      s->senders_ = options.senders.value_or(UserRange{1, 100});
      const bool overlap =
          s->senders_.first <= s->users_.last && s->users_.first <= s->senders_.last;
      const uint32_t needed = s->conversations_ + (overlap ? 1 : 0);
      if (s->senders_.size() < needed) {
        *error = name + ": --senders " + RangeText(s->senders_) + " must hold at least " +
                 std::to_string(needed) + " users for --conversations " +
                 std::to_string(s->conversations_) +
                 (overlap ? " (one more because it overlaps --users)" : "");
        return nullptr;
      }
      if (options.prepare) {
        s->prepare_count_ = static_cast<uint64_t>(s->users_.size()) * s->conversations_;
      }
      break;
    }

    case ScenarioId::kUnreadGroup:
      s->senders_ = options.senders.value_or(UserRange{1, 1});
      s->groups_ = options.groups.empty() ? std::vector<uint32_t>{1, 2, 4} : options.groups;
      if (options.prepare) {
        s->prepare_count_ = s->groups_.size();
      }
      break;
  }
  return s;
}

std::string Scenario::Describe() const {
  if (id_ == ScenarioId::kIdle) {
    return "sends nothing, answers heartbeats";
  }
  std::string text = "users " + RangeText(users_);
  switch (id_) {
    case ScenarioId::kSendExisting:
    case ScenarioId::kMsgList:
    case ScenarioId::kMixed:
      text += ", " + std::to_string(fixed_pairs_) + " pairs";
      break;
    case ScenarioId::kSendNew:
      text += ", " + std::to_string(new_pairs_total_) + " distinct pairs";
      break;
    case ScenarioId::kGroupSend:
      text += ", group " + std::to_string(group_id_);
      break;
    case ScenarioId::kUnreadMany:
      text += ", senders " + RangeText(senders_) + ", " + std::to_string(conversations_) +
              " conversations per user";
      break;
    case ScenarioId::kUnreadGroup: {
      text += ", groups ";
      for (size_t i = 0; i < groups_.size(); ++i) {
        text += (i == 0 ? "" : ",") + std::to_string(groups_[i]);
      }
      text += ", sender " + std::to_string(senders_.first);
      break;
    }
    default:
      break;
  }
  return text;
}

RequestParams Scenario::PrepareRequest(uint64_t index) const {
  RequestParams params;
  switch (id_) {
    case ScenarioId::kUnreadMany: {
      // Interleaved by target, so concurrent messages go to different users.
      const uint32_t targets = users_.size();
      const uint32_t target = users_.first + static_cast<uint32_t>(index % targets);
      uint32_t sender = senders_.first + static_cast<uint32_t>(index / targets);
      if (sender >= target && senders_.Contains(target)) {
        ++sender;  // skip the target itself; Create() made sure the range is long enough
      }
      params = {RequestKind::kSendSingle, sender, target};
      break;
    }
    case ScenarioId::kUnreadGroup:
      params = {RequestKind::kSendGroup, senders_.first, groups_[index % groups_.size()]};
      break;
    default: {
      // The fixed pairs, one round of messages after another, alternating direction.
      const uint32_t pair = static_cast<uint32_t>(index % fixed_pairs_);
      const uint32_t a = users_.first + 2 * pair;
      const bool reverse = (index / fixed_pairs_) % 2 == 1;
      params = {RequestKind::kSendSingle, reverse ? a + 1 : a, reverse ? a : a + 1};
      break;
    }
  }
  return params;
}

uint32_t Scenario::RandomUser(std::mt19937_64& rng) const {
  return std::uniform_int_distribution<uint32_t>(users_.first, users_.last)(rng);
}

RequestParams Scenario::RandomPair(std::mt19937_64& rng, RequestKind kind) const {
  const uint32_t pair = std::uniform_int_distribution<uint32_t>(0, fixed_pairs_ - 1)(rng);
  const uint32_t a = users_.first + 2 * pair;
  const bool reverse = (rng() & 1) != 0;
  return {kind, reverse ? a + 1 : a, reverse ? a : a + 1};
}

bool Scenario::NextRequest(std::mt19937_64& rng, RequestParams* out) {
  switch (id_) {
    case ScenarioId::kLogin:
      *out = {RequestKind::kLogin, RandomUser(rng), 0};
      return true;
    case ScenarioId::kSendExisting:
      *out = RandomPair(rng, RequestKind::kSendSingle);
      return true;
    case ScenarioId::kSendNew: {
      const uint64_t k = next_new_pair_.fetch_add(1, std::memory_order_relaxed);
      if (k >= new_pairs_total_) {
        return false;
      }
      const PairIndex pair = NthDistinctPair(users_.size(), k);
      *out = {RequestKind::kSendSingle, users_.first + pair.a, users_.first + pair.b};
      return true;
    }
    case ScenarioId::kGroupSend:
      *out = {RequestKind::kSendGroup, RandomUser(rng), group_id_};
      return true;
    case ScenarioId::kUnreadEmpty:
    case ScenarioId::kUnreadMany:
    case ScenarioId::kUnreadGroup:
      *out = {RequestKind::kUnread, RandomUser(rng), 0};
      return true;
    case ScenarioId::kMsgList:
      *out = RandomPair(rng, RequestKind::kMsgList);
      return true;
    case ScenarioId::kMixed: {
      const RequestKind kind = MixedKindFor(std::uniform_int_distribution<int>(0, 99)(rng));
      if (kind == RequestKind::kSendSingle || kind == RequestKind::kMsgList) {
        *out = RandomPair(rng, kind);
      } else {
        *out = {kind, RandomUser(rng), 0};
      }
      return true;
    }
    case ScenarioId::kIdle:
      return false;
  }
  return false;
}

uint64_t Scenario::next_pair_offset() const {
  return std::min(next_new_pair_.load(std::memory_order_relaxed), new_pairs_total_);
}

}  // namespace dbproxy::bench
