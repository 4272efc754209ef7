// LWWRegister: the last-writer-wins register. The write with the higher timestamp wins; equal
// timestamps are decided by the greater replica id, then by the greater value bytes, so every
// tie is deterministic. A local write uses ts = max(clock, last_ts + 1): a replica's own writes
// are always ordered even when its clock stalls or goes back. Clocks are inputs, never read here.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <cstdint>
#include <tuple>
#include <utility>

#include "convergent/ids.h"
#include "convergent/value.h"

namespace convergent {

class LWWRegister {
 public:
  // Writes v at max(clock, timestamp() + 1) and returns the delta (the register itself). Throws
  // std::overflow_error, leaving the register unchanged, when it already holds the largest
  // timestamp (2^64-1): no later write can be ordered after it.
  LWWRegister Set(ReplicaId replica, Value v, uint64_t clock);
  void Join(const LWWRegister& other) {
    if (other.Beats(*this)) *this = other;
  }

  bool is_set() const { return timestamp_ != 0; }
  const Value& value() const { return value_; }  // nil when never set
  uint64_t timestamp() const { return timestamp_; }
  ReplicaId replica() const { return replica_; }
  bool empty() const { return !is_set(); }
  // A decoded register; timestamp 0 means "never set" and requires a nil value.
  static LWWRegister FromParts(Value v, uint64_t timestamp, ReplicaId replica);

  friend bool operator==(const LWWRegister&, const LWWRegister&) = default;

 private:
  bool Beats(const LWWRegister& o) const {
    return std::tie(timestamp_, replica_, value_) > std::tie(o.timestamp_, o.replica_, o.value_);
  }

  Value value_;
  uint64_t timestamp_ = 0;
  ReplicaId replica_;
};

}  // namespace convergent
