#include "core/storage/gtid_position.h"

#include <charconv>
#include <vector>

namespace dbproxy::storage {
namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) {
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Result<Gtid> ParseGtid(std::string_view text) {
  text = Trim(text);
  const size_t first = text.find('-');
  const size_t second = first == std::string_view::npos ? first : text.find('-', first + 1);
  Gtid gtid;
  if (second == std::string_view::npos || !ParseNumber(text.substr(0, first), &gtid.domain) ||
      !ParseNumber(text.substr(first + 1, second - first - 1), &gtid.server) ||
      !ParseNumber(text.substr(second + 1), &gtid.seq)) {
    return Status::Invalid("not a GTID (domain-server-seq): '" + std::string(text) + "'");
  }
  return gtid;
}

Status GtidPosition::Merge(std::string_view list) {
  std::vector<Gtid> parsed;
  while (!Trim(list).empty()) {
    const size_t comma = list.find(',');
    Result<Gtid> gtid = ParseGtid(list.substr(0, comma));
    if (!gtid.ok()) {
      return gtid.status();
    }
    parsed.push_back(*gtid);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  std::lock_guard<std::mutex> lock(mu_);
  bool raised = false;
  for (const Gtid& gtid : parsed) {
    auto [it, inserted] = by_domain_.try_emplace(gtid.domain, gtid);
    if (inserted) {
      raised = true;
    } else if (gtid.seq > it->second.seq) {
      it->second = gtid;
      raised = true;
    }
  }
  if (raised) {
    version_.fetch_add(1, std::memory_order_release);
  }
  return Status::Ok();
}

GtidPosition::Snapshot GtidPosition::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot snapshot;
  snapshot.version = version_.load(std::memory_order_relaxed);
  for (const auto& [domain, gtid] : by_domain_) {
    if (!snapshot.text.empty()) {
      snapshot.text += ',';
    }
    snapshot.text += std::to_string(gtid.domain) + "-" + std::to_string(gtid.server) + "-" +
                     std::to_string(gtid.seq);
  }
  return snapshot;
}

}  // namespace dbproxy::storage
