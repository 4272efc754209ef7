// LWWMap: a map from keys to last-writer-wins values (an ORMap of LWWRegisters): keys are
// add-wins, concurrent puts of one key are decided by (timestamp, replica id, value bytes).
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <optional>

#include "convergent/crdt/typed_map.h"

namespace convergent {

class LWWMap : public TypedMap<LWWMap, CrdtType::kLWWRegister> {
 public:
  // Writes v at max(clock, greatest observed timestamp of the key + 1); returns the delta.
  LWWMap Put(ReplicaId replica, const Value& key, Value v, uint64_t clock) {
    return WrapOrDie(map_.SetRegister(replica, key, std::move(v), clock));
  }
  std::optional<Value> Get(const Value& key) const {
    auto r = map_.GetLWWRegister(key);
    return r ? std::optional<Value>(r->value()) : std::nullopt;
  }

 private:
  friend class TypedMap<LWWMap, CrdtType::kLWWRegister>;
};

}  // namespace convergent
