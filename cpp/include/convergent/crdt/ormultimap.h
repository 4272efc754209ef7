// ORMultiMap: a map from keys to sets of values (an ORMap of ORSets): adds win over concurrent
// removes, both of single values and of whole keys.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <vector>

#include "convergent/crdt/typed_map.h"

namespace convergent {

class ORMultiMap : public TypedMap<ORMultiMap, CrdtType::kORSet> {
 public:
  ORMultiMap Add(ReplicaId replica, const Value& key, Value v) {
    return WrapOrDie(map_.AddElement(replica, key, std::move(v), CrdtType::kORSet));
  }
  ORMultiMap Remove(const Value& key, const Value& v) {
    return WrapOrDie(map_.RemoveElement(key, v));
  }
  ORMultiMap RemoveKey(const Value& key) { return TypedMap::Remove(key); }
  // The values of a key in canonical order (empty when absent).
  std::vector<Value> Get(const Value& key) const {
    auto s = map_.GetORSet(key);
    return s ? s->Elements() : std::vector<Value>{};
  }

 private:
  friend class TypedMap<ORMultiMap, CrdtType::kORSet>;
};

}  // namespace convergent
