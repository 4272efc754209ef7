// PNCounterMap: a map from keys to PNCounters (an ORMap of counters): keys are add-wins; an
// increment concurrent with the key's removal survives.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <optional>

#include "convergent/crdt/typed_map.h"

namespace convergent {

class PNCounterMap : public TypedMap<PNCounterMap, CrdtType::kPNCounter> {
 public:
  // Adds n (negative: subtracts). Throws std::overflow_error if the replica's slot would
  // overflow 64 bits.
  PNCounterMap Increment(ReplicaId replica, const Value& key, int64_t n = 1) {
    auto r = map_.Increment(replica, key, n, CrdtType::kPNCounter);
    if (!r.ok()) throw std::overflow_error(r.status().message());
    return Wrap(std::move(r).value());
  }
  PNCounterMap Decrement(ReplicaId replica, const Value& key, int64_t n = 1) {
    return Increment(replica, key, -n);
  }
  std::optional<int64_t> Get(const Value& key) const {
    auto c = map_.GetPNCounter(key);
    return c ? std::optional<int64_t>(c->value()) : std::nullopt;
  }

 private:
  friend class TypedMap<PNCounterMap, CrdtType::kPNCounter>;
};

}  // namespace convergent
