// CausalContext: the set of dots a replica has observed, stored as a compact version vector
// (every dot (r, 1..n) seen) plus a dot cloud (dots seen out of order). It is kept compact at all
// times: a cloud dot that extends its replica's contiguous range is folded into the vector, so
// equal sets of dots have equal representations (needed for canonical encoding and digests).
//
// Thread safety: none; a context belongs to one CRDT value.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "convergent/crdt/inlined_vector.h"
#include "convergent/ids.h"
#include "convergent/status.h"

namespace convergent {

class CausalContext {
 public:
  // Sorted by replica, counters > 0. Room for one replica inline: the context of a delta
  // allocates nothing.
  struct VectorEntry {
    ReplicaId replica;
    uint64_t counter = 0;
    friend bool operator==(const VectorEntry&, const VectorEntry&) = default;
  };
  using VersionVector = absl::InlinedVector<VectorEntry, 1>;
  // Strictly ascending, with room for one dot inline (the context of an add's delta is one
  // cloud dot). Clouds stay small: a dot leaves the cloud as soon as the gap before it fills.
  using DotCloud = absl::InlinedVector<Dot, 1>;

  // Counter 0 is no dot (counters are 1-based), so it is never contained.
  bool Contains(const Dot& d) const {
    return d.counter != 0 && (d.counter <= Contiguous(d.replica) || InCloud(d));
  }
  // Whether d is one of the dots seen out of order.
  bool InCloud(const Dot& d) const { return std::binary_search(cloud_.begin(), cloud_.end(), d); }
  // The highest n such that (r, 1..n) are all contained.
  uint64_t Contiguous(ReplicaId r) const;
  // Creates and records the next dot of `r` (one past the highest dot of r seen). Throws
  // std::overflow_error if r has used the counter 2^64-1 (possible only in hostile input).
  Dot Next(ReplicaId r);
  // Records one dot, keeping the context compact.
  void Insert(const Dot& d);
  // Records every dot of `other`.
  void Join(const CausalContext& other);

  // Whether any dot of replica r is contained (removed-replica pruning).
  bool HasDotsOf(ReplicaId r) const;
  // The replicas with a dot contained, ascending.
  std::vector<ReplicaId> Replicas() const;
  // Forgets every dot of replica r (removed-replica pruning, convergent/crdt/pruning.h).
  void DropReplica(ReplicaId r);
  // Calls fn(counter) for the counters of r's cloud dots, ascending.
  template <typename Fn>
  void ForEachCloudCounterOf(ReplicaId r, Fn&& fn) const {
    for (auto it = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{r, 0});
         it != cloud_.end() && it->replica == r; ++it) {
      fn(it->counter);
    }
  }

  // Number of dots contained, saturating; used to pick the cheaper join strategy.
  uint64_t DotCount() const;
  // Number of dots contained here and in `other` too, saturating.
  uint64_t CountIn(const CausalContext& other) const;
  // Calls fn(dot) for every dot contained here and in `other` too (CountIn of them), or here
  // and not in `other`: each replica's in ascending order, but not sorted across replicas.
  template <typename Fn>
  void ForEachDotIn(const CausalContext& other, Fn&& fn) const {
    for (const VectorEntry& e : vv_) {  // (not a structured binding: lambdas capture it)
      const uint64_t theirs = other.Contiguous(e.replica);
      for (uint64_t c = 0; c < std::min(e.counter, theirs);) fn(Dot{e.replica, ++c});
      if (e.counter > theirs) {
        other.ForEachCloudCounterOf(e.replica, [&](uint64_t c) {
          if (c <= e.counter) fn(Dot{e.replica, c});
        });
      }
    }
    for (const Dot& d : cloud_) {
      if (other.Contains(d)) fn(d);
    }
  }
  template <typename Fn>
  void ForEachDotNotIn(const CausalContext& other, Fn&& fn) const {
    for (const auto& [r, n] : vv_) {
      for (uint64_t c = other.Contiguous(r); c < n;) {
        const Dot d{r, ++c};
        if (!other.InCloud(d)) fn(d);
      }
    }
    for (const Dot& d : cloud_) {
      if (!other.Contains(d)) fn(d);
    }
  }
  // Calls fn(dot) for every contained dot (vector ranges first, then the cloud).
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const auto& [r, n] : vv_)
      for (uint64_t c = 1; c <= n; ++c) fn(Dot{r, c});
    for (const Dot& d : cloud_) fn(d);
  }

  // Builds a context from decoded parts, checking that they are in the compact form: the vector
  // sorted by replica, no replica twice, counters > 0, the cloud strictly ascending, and every
  // cloud dot beyond its replica's range + 1. (Inserting a vector entry dot by dot would cost its
  // counter, which untrusted bytes choose.)
  static Result<CausalContext> FromParts(VersionVector vv, DotCloud cloud);

  bool empty() const { return vv_.empty() && cloud_.empty(); }
  // The context of the one dot d (counter > 0): an add's delta's.
  static CausalContext OfDot(const Dot& d) {
    CausalContext c;
    if (d.counter == 1) {
      c.vv_.push_back({d.replica, 1});
    } else {
      c.cloud_.push_back(d);
    }
    return c;
  }
  // The context's dot when it holds exactly one (as an add's delta does), else nullopt.
  std::optional<Dot> SingleDot() const {
    if (vv_.empty()) return cloud_.size() == 1 ? std::optional<Dot>(cloud_[0]) : std::nullopt;
    if (cloud_.empty() && vv_.size() == 1 && vv_[0].counter == 1) return Dot{vv_[0].replica, 1};
    return std::nullopt;
  }
  const VersionVector& version_vector() const { return vv_; }
  const DotCloud& dot_cloud() const { return cloud_; }

  friend bool operator==(const CausalContext&, const CausalContext&) = default;

 private:
  uint64_t* Slot(ReplicaId r);  // nullptr when r has no contiguous range yet
  // Moves the cloud dots that now extend r's range (*slot, its vv_ counter) into vv_.
  void FoldCloud(ReplicaId r, uint64_t* slot);
  // Joins other's vector when it names no replica this one lacks (the common case: no
  // allocation); false, changing nothing, otherwise.
  bool JoinVectorInPlace(const CausalContext& other);
  // Restores the compact form after the vector grew or dots were merged into the cloud: drops
  // covered cloud dots and folds runs that continue a replica's range into the vector.
  void Normalize();

  VersionVector vv_;
  DotCloud cloud_;  // invariant: every d has d.counter > Contiguous(d.replica) + 1
};

}  // namespace convergent
