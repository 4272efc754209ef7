#include "replica/retired_deletes.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {

uint64_t RetiredDeletes::DigestOf(const Vector& entries) {
  if (entries.empty()) return 0;
  uint64_t h = 0x243F6A8885A308D3ull;  // FNV-style over (replica, counter), in order
  auto mix = [&h](uint64_t x) {
    h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0x100000001B3ull;
  };
  for (const auto& e : entries) {
    mix(e.replica.value);
    mix(e.counter);
  }
  return h == 0 ? 1 : h;
}

RetiredDeletes::Vector RetiredDeletes::With(const Vector& vv, const Vector& retired) {
  if (retired.empty()) return vv;
  // Both are compact vectors (decoded frames are checked, and the set is built from floors); were
  // one not, the advert would stand for less than it says, which only makes its sender look stale.
  auto joined = CausalContext::FromParts(vv, {});
  auto more = CausalContext::FromParts(retired, {});
  if (!joined.ok() || !more.ok()) return vv;
  joined->Join(*more);
  return joined->version_vector();
}

bool RetiredDeletes::Join(const Vector& more) {
  Vector joined = With(entries_, more);
  if (joined == entries_) return false;
  entries_ = std::move(joined);
  digest_ = DigestOf(entries_);
  return true;
}

bool RetiredDeletes::Covers(ReplicaId r, uint64_t n) const {
  auto at = std::lower_bound(entries_.begin(), entries_.end(), r,
                             [](const auto& x, ReplicaId id) { return x.replica < id; });
  return at != entries_.end() && at->replica == r && n <= at->counter;
}

RetiredDeletes::Vector RetiredDeletes::Without(const Vector& vv) const {
  if (entries_.empty()) return vv;
  Vector out;
  for (const auto& e : vv) {
    if (!Covers(e.replica, e.counter)) out.push_back(e);
  }
  return out;
}

}  // namespace convergent::internal
