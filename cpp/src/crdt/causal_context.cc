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
                          [](const auto& e, ReplicaId id) { return e.replica < id; });
}

}  // namespace

uint64_t CausalContext::Contiguous(ReplicaId r) const {
  auto it = FindReplica(vv_, r);
  return it != vv_.end() && it->replica == r ? it->counter : 0;
}

uint64_t* CausalContext::Slot(ReplicaId r) {
  auto it = FindReplica(vv_, r);
  return it != vv_.end() && it->replica == r ? &it->counter : nullptr;
}

Dot CausalContext::Next(ReplicaId r) {
  uint64_t* slot = Slot(r);
  if (cloud_.empty() && slot != nullptr && *slot != std::numeric_limits<uint64_t>::max()) {
    return Dot{r, ++*slot};  // the common case: the vector's range grows by one
  }
  uint64_t top = slot != nullptr ? *slot : 0;
  auto after =
      std::upper_bound(cloud_.begin(), cloud_.end(), Dot{r, std::numeric_limits<uint64_t>::max()});
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
  const bool present = it != vv_.end() && it->replica == d.replica;
  const uint64_t have = present ? it->counter : 0;
  if (d.counter <= have) return;
  if (d.counter > have + 1) {
    if (cloud_.empty() || cloud_.back() < d) {  // often the newest dot
      cloud_.push_back(d);
    } else if (auto at = std::lower_bound(cloud_.begin(), cloud_.end(), d); *at != d) {
      cloud_.insert(at, d);
    }
    return;
  }
  if (present) {
    it->counter = d.counter;
  } else {
    it = vv_.insert(it, {d.replica, d.counter});
  }
  if (!cloud_.empty()) FoldCloud(d.replica, &it->counter);
}

void CausalContext::FoldCloud(ReplicaId r, uint64_t* slot) {
  const auto first = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{r, 0});
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
    if (b == other.vv_.end() || (a != vv_.end() && a->replica < b->replica)) {
      merged.push_back(*a++);
    } else if (a == vv_.end() || b->replica < a->replica) {
      merged.push_back(*b++);
    } else {
      merged.push_back({a->replica, std::max(a->counter, b->counter)});
      ++a, ++b;
    }
  }
  vv_ = std::move(merged);
  DotCloud cloud;
  cloud.reserve(cloud_.size() + other.cloud_.size());
  std::set_union(cloud_.begin(), cloud_.end(), other.cloud_.begin(), other.cloud_.end(),
                 std::back_inserter(cloud));
  cloud_ = std::move(cloud);
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
    FoldCloud(r, slot);  // drops the cloud dots now covered; the range may continue into the cloud
  }
  return true;
}

void CausalContext::Normalize() {
  const DotCloud dots = std::move(cloud_);
  DotCloud kept;
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
  cloud_ = std::move(kept);
}

bool CausalContext::HasDotsOf(ReplicaId r) const {
  if (Contiguous(r) != 0) return true;
  auto it = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{r, 0});
  return it != cloud_.end() && it->replica == r;
}

std::vector<ReplicaId> CausalContext::Replicas() const {
  std::vector<ReplicaId> out;
  out.reserve(vv_.size());
  for (const auto& e : vv_) out.push_back(e.replica);
  for (const Dot& d : cloud_) {
    if (out.empty() || out.back() != d.replica) out.push_back(d.replica);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void CausalContext::DropReplica(ReplicaId r) {
  auto it = FindReplica(vv_, r);
  if (it != vv_.end() && it->replica == r) vv_.erase(it);
  const auto first = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{r, 0});
  auto last = first;
  while (last != cloud_.end() && last->replica == r) ++last;
  cloud_.erase(first, last);
}

uint64_t CausalContext::DotCount() const {
  uint64_t n = cloud_.size();
  for (const auto& [r, c] : vv_) {
    if (c > std::numeric_limits<uint64_t>::max() - n) return std::numeric_limits<uint64_t>::max();
    n += c;
  }
  return n;
}

uint64_t CausalContext::CountIn(const CausalContext& other) const {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t n = 0;
  const auto add = [&](uint64_t k) { n = k > kMax - n ? kMax : n + k; };
  for (const VectorEntry& e : vv_) {  // (not a structured binding: a lambda captures it)
    // Both ranges start at 1; the other's cloud dots lie above its range.
    const uint64_t theirs = other.Contiguous(e.replica);
    add(std::min(e.counter, theirs));
    if (e.counter > theirs) {
      other.ForEachCloudCounterOf(e.replica, [&](uint64_t c) {
        if (c <= e.counter) add(1);
      });
    }
  }
  for (const Dot& d : cloud_) {  // above this side's ranges: counted once
    if (other.Contains(d)) add(1);
  }
  return n;
}

Result<CausalContext> CausalContext::FromParts(VersionVector vv, DotCloud cloud) {
  for (size_t i = 0; i < vv.size(); ++i) {
    if (vv[i].counter == 0) return Status::Corruption("CausalContext: a vector counter of 0");
    if (i > 0 && !(vv[i - 1].replica < vv[i].replica)) {
      return Status::Corruption("CausalContext: vector not sorted by replica, or a replica twice");
    }
  }
  CausalContext c;
  c.vv_ = std::move(vv);
  for (size_t i = 0; i < cloud.size(); ++i) {
    const Dot& d = cloud[i];
    if (i > 0 && !(cloud[i - 1] < d)) {
      return Status::Corruption("CausalContext: cloud not strictly ascending");
    }
    if (d.counter == 0 || d.counter - 1 <= c.Contiguous(d.replica)) {
      return Status::Corruption("CausalContext: a cloud dot inside or next to the vector's range");
    }
  }
  c.cloud_ = std::move(cloud);
  return c;
}

}  // namespace convergent
