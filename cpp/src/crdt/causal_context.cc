#include "convergent/crdt/causal_context.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace convergent {
namespace {

template <typename VV>  // VersionVector, const or not
auto FindReplica(VV& vv, ReplicaId r) {
  return std::lower_bound(vv.begin(), vv.end(), r,
                          [](const auto& e, ReplicaId id) { return e.first < id; });
}

}  // namespace

uint64_t CausalContext::Contiguous(ReplicaId r) const {
  auto it = FindReplica(vv_, r);
  return it != vv_.end() && it->first == r ? it->second : 0;
}

uint64_t* CausalContext::Slot(ReplicaId r) {
  auto it = FindReplica(vv_, r);
  return it != vv_.end() && it->first == r ? &it->second : nullptr;
}

Dot CausalContext::Next(ReplicaId r) {
  uint64_t top = Contiguous(r);
  auto after = cloud_.upper_bound(Dot{r, std::numeric_limits<uint64_t>::max()});
  if (after != cloud_.begin() && std::prev(after)->replica == r) top = std::prev(after)->counter;
  if (top == std::numeric_limits<uint64_t>::max()) {
    // Only a context decoded from a hostile peer can claim this: refuse rather than wrap to 0.
    throw std::overflow_error("the dot counter of replica " + r.ToString() + " is exhausted");
  }
  Dot d{r, top + 1};
  Insert(d);
  return d;
}

void CausalContext::Insert(const Dot& d) {
  if (d.counter == 0) return;
  auto it = FindReplica(vv_, d.replica);
  const bool present = it != vv_.end() && it->first == d.replica;
  const uint64_t have = present ? it->second : 0;
  if (d.counter <= have) return;
  if (d.counter > have + 1) {
    cloud_.insert(d);
    return;
  }
  if (present) {
    it->second = d.counter;
  } else {
    vv_.insert(it, {d.replica, d.counter});
  }
  FoldCloud(d.replica);
}

void CausalContext::FoldCloud(ReplicaId r) {
  uint64_t* slot = Slot(r);
  if (slot == nullptr) return;
  const auto first = cloud_.lower_bound(Dot{r, 0});
  auto last = first;
  while (last != cloud_.end() && last->replica == r && last->counter <= *slot + 1) {
    *slot = std::max(*slot, last->counter);
    ++last;
  }
  cloud_.erase(first, last);
}

void CausalContext::Join(const CausalContext& other) {
  if (other.empty()) return;
  constexpr size_t kFewCloudDots = 8;  // inserted one by one; more are merged in one pass
  if (other.cloud_.size() <= kFewCloudDots && JoinVectorInPlace(other)) {
    for (const Dot& d : other.cloud_) Insert(d);
    return;
  }
  // Merge the version vectors (both sorted) in one pass.
  VersionVector merged;
  merged.reserve(vv_.size() + other.vv_.size());
  auto a = vv_.cbegin();
  auto b = other.vv_.cbegin();
  while (a != vv_.end() || b != other.vv_.end()) {
    if (b == other.vv_.end() || (a != vv_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == vv_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, std::max(a->second, b->second));
      ++a, ++b;
    }
  }
  vv_ = std::move(merged);
  cloud_.insert(boost::container::ordered_unique_range, other.cloud_.begin(), other.cloud_.end());
  Normalize();
}

bool CausalContext::JoinVectorInPlace(const CausalContext& other) {
  for (const auto& [r, n] : other.vv_) {
    if (Slot(r) == nullptr) return false;
  }
  for (const auto& [r, n] : other.vv_) {
    uint64_t* slot = Slot(r);
    if (n <= *slot) continue;
    *slot = n;
    FoldCloud(r);  // drops the cloud dots now covered; the range may continue into the cloud
  }
  return true;
}

void CausalContext::Normalize() {
  DotCloud::sequence_type dots = cloud_.extract_sequence();
  DotCloud::sequence_type kept;
  for (size_t i = 0; i < dots.size();) {
    const ReplicaId r = dots[i].replica;
    const uint64_t had = Contiguous(r);
    uint64_t top = had;
    for (; i < dots.size() && dots[i].replica == r && dots[i].counter <= top + 1; ++i) {
      top = std::max(top, dots[i].counter);
    }
    if (top != had) {
      if (uint64_t* slot = Slot(r)) {
        *slot = top;
      } else {
        vv_.insert(FindReplica(vv_, r), {r, top});
      }
    }
    for (; i < dots.size() && dots[i].replica == r; ++i) kept.push_back(dots[i]);
  }
  cloud_.adopt_sequence(boost::container::ordered_unique_range, std::move(kept));
}

uint64_t CausalContext::DotCount() const {
  uint64_t n = cloud_.size();
  for (const auto& [r, c] : vv_) {
    if (c > std::numeric_limits<uint64_t>::max() - n) return std::numeric_limits<uint64_t>::max();
    n += c;
  }
  return n;
}

Result<CausalContext> CausalContext::FromParts(VersionVector vv, DotCloud cloud) {
  for (size_t i = 0; i < vv.size(); ++i) {
    if (vv[i].second == 0) return Status::Corruption("CausalContext: a vector counter of 0");
    if (i > 0 && !(vv[i - 1].first < vv[i].first)) {
      return Status::Corruption("CausalContext: vector not sorted by replica, or a replica twice");
    }
  }
  CausalContext c;
  c.vv_ = std::move(vv);
  for (const Dot& d : cloud) {
    if (d.counter == 0 || d.counter - 1 <= c.Contiguous(d.replica)) {
      return Status::Corruption("CausalContext: a cloud dot inside or next to the vector's range");
    }
  }
  c.cloud_ = std::move(cloud);
  return c;
}

}  // namespace convergent
