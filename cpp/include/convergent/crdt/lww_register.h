// LWWRegister: the last-writer-wins register. The write with the higher timestamp wins; equal
// timestamps are decided by the greater replica id, then by the greater value, so every tie is
// deterministic. A local write uses ts = max(clock, last_ts + 1): a replica's own writes are
// always ordered even when its clock stalls or goes back. Clocks are inputs, never read here.
//
// BasicLWWRegister<V> is the register over any regular, totally ordered value type V whose
// default value means "nothing". The replicated register, LWWRegister, holds a Value (canonical
// msgpack, ordered by its bytes); C++ programs that keep typed registers of their own (say of
// int64_t) use BasicLWWRegister<int64_t>, which has the same semantics and costs a few
// instructions per write and join.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>

#include "convergent/ids.h"
#include "convergent/value.h"

namespace convergent {

// Throws the std::overflow_error of a write after timestamp 2^64-1 (out of line: a cold path).
[[noreturn]] void ThrowLWWTimestampOverflow();

template <typename V>
class BasicLWWRegister {
 public:
  // Writes v at max(clock, timestamp() + 1) and returns the delta (the register itself). Throws
  // std::overflow_error, leaving the register unchanged, when it already holds the largest
  // timestamp (2^64-1): no later write can be ordered after it.
  BasicLWWRegister Set(ReplicaId replica, V v, uint64_t clock) {
    if (timestamp_ == std::numeric_limits<uint64_t>::max()) ThrowLWWTimestampOverflow();
    timestamp_ = std::max(clock, timestamp_ + 1);
    replica_ = replica;
    value_ = std::move(v);
    return *this;
  }
  void Join(const BasicLWWRegister& other) {
    if (other.Beats(*this)) *this = other;
  }

  bool is_set() const { return timestamp_ != 0; }
  const V& value() const { return value_; }  // V{} (for Value: nil) when never set
  uint64_t timestamp() const { return timestamp_; }
  ReplicaId replica() const { return replica_; }
  bool empty() const { return !is_set(); }
  // A decoded register; timestamp 0 means "never set", which the codec checks goes with V{}.
  static BasicLWWRegister FromParts(V v, uint64_t timestamp, ReplicaId replica) {
    BasicLWWRegister r;
    r.value_ = std::move(v);
    r.timestamp_ = timestamp;
    r.replica_ = replica;
    return r;
  }

  friend bool operator==(const BasicLWWRegister&, const BasicLWWRegister&) = default;

 private:
  bool Beats(const BasicLWWRegister& o) const {
    return std::tie(timestamp_, replica_, value_) > std::tie(o.timestamp_, o.replica_, o.value_);
  }

  V value_{};
  uint64_t timestamp_ = 0;
  ReplicaId replica_;
};

using LWWRegister = BasicLWWRegister<Value>;

}  // namespace convergent
