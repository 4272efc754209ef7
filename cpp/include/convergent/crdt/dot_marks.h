// DotMarks: tells whether a dot comes twice among the dots of a decoded store (no dot may be
// under two elements of an ORSet or two entries of an ORMap). A decoder checks it for every
// state it reads, including whole states of millions of dots: sorting a copy of the dots costs
// 16 bytes a dot and more in growth, about 1.5x the encoded state. Instead the dots within a
// replica's contiguous range in the store's causal context (every dot of a well-formed state
// is in its context, and most in those ranges) are marked in a bitmap of that range, a bit a
// counter, when the bitmaps stay within a few bits per dot; the other dots (cloud dots, ranges
// too long for the budget) are sorted, as before. Correct for any dot: the context only decides
// where a dot is marked.
//
// Thread safety: a plain value, used by one check.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"

namespace convergent {

class DotMarks {
 public:
  // `expected` is about how many dots will be marked (a store's entry count will do): it sets
  // the bitmaps' budget, 16 bits a dot.
  DotMarks(const CausalContext& ctx, size_t expected) {
    uint64_t budget = 16 * static_cast<uint64_t>(expected) + 1024;
    for (const auto& [r, n] : ctx.version_vector()) {
      if (n > budget) continue;
      budget -= n;
      ranges_.push_back(Range{r, n, std::vector<uint64_t>((n + 63) / 64)});
    }
  }

  // Marks d; false when it was marked before in a bitmap (a repeat among the other dots shows
  // in RestIsUnique).
  bool Mark(const Dot& d) {
    Range* range = RangeOf(d.replica);
    if (range == nullptr || d.counter == 0 || d.counter > range->counter) {
      rest_.push_back(d);
      return true;
    }
    const uint64_t bit = d.counter - 1;
    uint64_t& word = range->bits[bit / 64];
    const uint64_t mask = uint64_t{1} << (bit % 64);
    if ((word & mask) != 0) return false;
    word |= mask;
    return true;
  }

  // Whether the dots not marked in a bitmap are distinct (call once, after the last Mark).
  bool RestIsUnique() {
    std::sort(rest_.begin(), rest_.end());
    return std::adjacent_find(rest_.begin(), rest_.end()) == rest_.end();
  }

 private:
  struct Range {
    ReplicaId replica;
    uint64_t counter;            // the range is 1..counter
    std::vector<uint64_t> bits;  // bit c - 1: counter c marked
  };
  Range* RangeOf(ReplicaId r) {
    if (last_ < ranges_.size() && ranges_[last_].replica == r) return &ranges_[last_];
    auto it = std::lower_bound(ranges_.begin(), ranges_.end(), r,
                               [](const Range& x, ReplicaId id) { return x.replica < id; });
    if (it == ranges_.end() || it->replica != r) return nullptr;
    last_ = static_cast<size_t>(it - ranges_.begin());
    return &*it;
  }

  std::vector<Range> ranges_;  // ascending by replica, as the version vector
  size_t last_ = 0;            // the range of the last dot marked: dots come in runs of a replica
  std::vector<Dot> rest_;
};

}  // namespace convergent
