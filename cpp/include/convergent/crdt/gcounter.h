// GCounter: the grow-only counter, one monotonic 64-bit slot per replica; join takes the
// per-replica maximum. Increment returns its delta (a GCounter holding the one changed slot,
// stored inline: no allocation on the increment path).
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "convergent/crdt/pruning.h"
#include "convergent/ids.h"
#include "convergent/status.h"

namespace convergent {

class GCounter {
 public:
  using Slot = std::pair<ReplicaId, uint64_t>;
  using Slots = boost::container::small_vector<Slot, 1>;  // sorted by replica, counts > 0

  // Adds n to the replica's slot. Throws std::overflow_error if the slot would pass 2^64-1.
  GCounter Increment(ReplicaId replica, uint64_t n = 1);
  void Join(const GCounter& other);

  uint64_t value() const;  // the sum of the slots (wraps beyond 2^64-1)
  uint64_t SlotOf(ReplicaId replica) const;
  bool empty() const { return slots_.empty(); }
  const Slots& slots() const { return slots_; }
  // Builds a counter from decoded slots (any order; duplicates are corrupt, zeros dropped).
  static Result<GCounter> FromSlots(std::vector<Slot> slots);

  // Removed-replica pruning (convergent/crdt/pruning.h): the removed slot is added to the
  // target's (nullopt, nothing changed, if that would pass 2^64-1); a cleanup drops the slot.
  bool NeedsPruningFrom(ReplicaId removed) const { return SlotOf(removed) != 0; }
  std::vector<ReplicaId> ModifiedBy() const;
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p) { EraseSlot(p.removed); }

  friend bool operator==(const GCounter& a, const GCounter& b) { return a.slots_ == b.slots_; }

 private:
  friend class PNCounter;
  // Adds n > 0 to the replica's slot and returns the slot's new count. Throws
  // std::overflow_error, changing nothing, if the slot would pass 2^64-1.
  uint64_t AddToSlot(ReplicaId replica, uint64_t n);

  void EraseSlot(ReplicaId replica);
  [[noreturn]] static void ThrowOverflow();
  template <typename S>  // Slots, const or not
  static auto FindSlot(S& s, ReplicaId r) {
    return std::lower_bound(s.begin(), s.end(), r,
                            [](const Slot& e, ReplicaId id) { return e.first < id; });
  }

  Slots slots_;
};

// Increments are inline: W3-style loops (one replica counting its own slot) are a handful of
// instructions once the caller can see them, and an unused delta costs nothing.
inline uint64_t GCounter::AddToSlot(ReplicaId replica, uint64_t n) {
  auto it = FindSlot(slots_, replica);
  if (it == slots_.end() || it->first != replica) {
    it = slots_.insert(it, {replica, 0});
  } else if (it->second > UINT64_MAX - n) {
    ThrowOverflow();
  }
  it->second += n;
  return it->second;
}

inline GCounter GCounter::Increment(ReplicaId replica, uint64_t n) {
  GCounter delta;
  if (n != 0) delta.slots_.emplace_back(replica, AddToSlot(replica, n));
  return delta;
}

// PNCounter: a counter that goes both ways, as two GCounters (increments and decrements).
class PNCounter {
 public:
  PNCounter Increment(ReplicaId replica, uint64_t n = 1);
  PNCounter Decrement(ReplicaId replica, uint64_t n = 1);
  void Join(const PNCounter& other) {
    p_.Join(other.p_);
    n_.Join(other.n_);
  }

  int64_t value() const { return static_cast<int64_t>(p_.value() - n_.value()); }
  bool empty() const { return p_.empty() && n_.empty(); }
  // Removed-replica pruning, both counters (see GCounter).
  bool NeedsPruningFrom(ReplicaId removed) const {
    return p_.NeedsPruningFrom(removed) || n_.NeedsPruningFrom(removed);
  }
  std::vector<ReplicaId> ModifiedBy() const;
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p) {
    p_.PruningCleanup(p);
    n_.PruningCleanup(p);
  }
  const GCounter& increments() const { return p_; }
  const GCounter& decrements() const { return n_; }
  static PNCounter FromParts(GCounter p, GCounter n) {
    PNCounter c;
    c.p_ = std::move(p);
    c.n_ = std::move(n);
    return c;
  }

  friend bool operator==(const PNCounter&, const PNCounter&) = default;

 private:
  GCounter p_, n_;
};

inline PNCounter PNCounter::Increment(ReplicaId replica, uint64_t n) {
  PNCounter delta;
  if (n != 0) delta.p_.slots_.emplace_back(replica, p_.AddToSlot(replica, n));
  return delta;
}

inline PNCounter PNCounter::Decrement(ReplicaId replica, uint64_t n) {
  PNCounter delta;
  if (n != 0) delta.n_.slots_.emplace_back(replica, n_.AddToSlot(replica, n));
  return delta;
}

}  // namespace convergent
