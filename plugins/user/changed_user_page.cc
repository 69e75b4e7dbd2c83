#include "plugins/user/changed_user_page.h"

#include <algorithm>

#include <google/protobuf/io/coded_stream.h>

namespace dbproxy::plugins::user {
namespace {

using UserList = google::protobuf::RepeatedPtrField<IM::BaseDefine::UserInfo>;

// Bytes one list element takes in the serialized answer: tag, length, message.
size_t ElementBytes(const IM::BaseDefine::UserInfo& info) {
  size_t n = info.ByteSizeLong();
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n) + n;
}

// Appends scanned users to a list while they fit the user and byte limits.
class Collector {
 public:
  Collector(UserList* out, size_t max_users, size_t max_bytes)
      : out_(out), max_users_(max_users), max_bytes_(max_bytes) {}

  // The RowVisitor: false once the next user does not fit (overflow() tells which).
  bool Add(const sdk::MysqlResult& rows, size_t row) {
    if (static_cast<size_t>(out_->size()) >= max_users_) {
      overflow_ = true;
      return false;
    }
    IM::BaseDefine::UserInfo* info = out_->Add();
    FillUserInfo(rows, row, info);
    size_t bytes = ElementBytes(*info);
    if (bytes_ + bytes > max_bytes_) {
      out_->RemoveLast();
      overflow_ = true;
      return false;
    }
    bytes_ += bytes;
    max_updated_ = std::max(max_updated_, RowUpdated(rows, row));
    return true;
  }

  bool overflow() const { return overflow_; }
  size_t count() const { return static_cast<size_t>(out_->size()); }
  uint32_t max_updated() const { return max_updated_; }

 private:
  UserList* out_;
  size_t max_users_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  uint32_t max_updated_ = 0;
  bool overflow_ = false;
};

}  // namespace

sdk::Result<Page> BuildChangedUserPage(sdk::MysqlConn& conn, const ChangeFilter& filter,
                                       uint32_t request_time, const PageLimits& limits,
                                       UserList* out) {
  out->Clear();
  auto stats = CountChanged(conn, filter);
  if (!stats.ok()) {
    return stats.status();
  }
  Page page;
  page.latest_update_time = request_time;
  if (stats->count == 0) {
    return page;  // the marker (MAX(updated)) is older than the client's time: nothing new
  }

  // How many users the next attempt may hold; shrinks when the bytes do not fit.
  size_t n = limits.max_users;
  if (stats->count <= limits.max_users) {
    Collector all(out, limits.max_users, limits.max_bytes);
    auto walk = [&](const sdk::MysqlResult& r, size_t i) { return all.Add(r, i); };
    sdk::Status s = ScanChanged(conn, filter, UpdatedBound::kNone, 0, limits.batch_size, walk);
    if (!s.ok()) {
      return s;
    }
    if (!all.overflow()) {
      page.latest_update_time = std::max(request_time, all.max_updated());
      return page;
    }
    // What fitted in id order estimates what fits in `updated` order; keep some slack.
    n = std::max<size_t>(1, all.count() * 9 / 10);
    out->Clear();
  }

  for (;;) {
    auto cut = UpdatedAtRank(conn, filter, n);
    if (!cut.ok()) {
      return cut.status();
    }
    if (!cut->has_value()) {
      // Users vanished since the count: at most n match now; take them all if they fit.
      Collector all(out, n, limits.max_bytes);
      auto walk = [&](const sdk::MysqlResult& r, size_t i) { return all.Add(r, i); };
      sdk::Status s = ScanChanged(conn, filter, UpdatedBound::kNone, 0, limits.batch_size, walk);
      if (!s.ok()) {
        return s;
      }
      if (!all.overflow()) {
        page.latest_update_time = std::max(request_time, all.max_updated());
        return page;
      }
    } else {
      uint32_t v = **cut;
      Collector below(out, n, limits.max_bytes);
      auto walk = [&](const sdk::MysqlResult& r, size_t i) { return below.Add(r, i); };
      sdk::Status s = ScanChanged(conn, filter, UpdatedBound::kBelow, v, limits.batch_size, walk);
      if (!s.ok()) {
        return s;
      }
      if (!below.overflow() && below.count() > 0) {
        page.latest_update_time = v;
        return page;
      }
      if (!below.overflow()) {
        // More than n users share the oldest second v: send the first of them and move on.
        Collector same(out, n, limits.max_bytes);
        auto take = [&](const sdk::MysqlResult& r, size_t i) { return same.Add(r, i); };
        s = ScanChanged(conn, filter, UpdatedBound::kEqual, v, limits.batch_size, take);
        if (!s.ok()) {
          return s;
        }
        page.latest_update_time = v + 1;
        page.second_split = true;
        return page;
      }
    }
    // The bytes did not fit: try again with half as many users.
    out->Clear();
    if (n == 1) {
      return page;  // one user larger than the byte limit: answer an empty page
    }
    n = std::max<size_t>(1, n / 2);
  }
}

}  // namespace dbproxy::plugins::user
