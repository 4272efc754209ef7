// TypedMap<Derived, kValueType>: the common part of the maps whose values all have one type
// (LWWMap, PNCounterMap, ORMultiMap): an ORMap underneath, so keys are add-wins and a key's
// removal removes exactly what was observed. Derived classes add the typed mutators and reads.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convergent/crdt/ormap.h"

namespace convergent {

template <typename Derived, CrdtType kValueType>
class TypedMap {
 public:
  static constexpr CrdtType kValue = kValueType;

  Derived Remove(const Value& key) { return Derived::Wrap(map_.Remove(key)); }
  void Join(const Derived& other) { map_.Join(other.map_); }
  // The map's DeltaSince (convergent/crdt/ormap.h).
  std::optional<Derived> DeltaSince(const CausalContext& seen) const {
    std::optional<ORMap> m = map_.DeltaSince(seen);
    if (!m) return std::nullopt;
    return Wrap(std::move(*m));
  }
  const CausalContext& context() const { return map_.context(); }

  bool Contains(const Value& key) const { return map_.Contains(key); }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  std::vector<Value> Keys() const { return map_.Keys(); }
  const ORMap& map() const { return map_; }

  // Removed-replica pruning (convergent/crdt/pruning.h), of the map underneath.
  bool NeedsPruningFrom(ReplicaId removed) const { return map_.NeedsPruningFrom(removed); }
  std::vector<ReplicaId> ModifiedBy() const { return map_.ModifiedBy(); }
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into) {
    return map_.Prune(removed, into);
  }
  void PruningCleanup(const PruningRecord& p) { map_.PruningCleanup(p); }

  // A decoded map: every value must be of kValueType.
  static Result<Derived> FromMap(ORMap m) {
    for (const auto& kv : m.store().entries()) {
      for (const auto& part : kv.second.parts()) {
        if (part.type != kValueType) {
          return Status::Corruption(std::string("a map of ") + CrdtTypeName(kValueType) +
                                    " values holds " + CrdtTypeWithArticle(part.type));
        }
      }
    }
    return Derived::Wrap(std::move(m));
  }

  friend bool operator==(const Derived& a, const Derived& b) { return a.map_ == b.map_; }

 protected:
  static Derived Wrap(ORMap m) {
    Derived d;
    d.map_ = std::move(m);
    return d;
  }
  // Mutations of a typed map cannot meet another type: a failure is a programmer error.
  static Derived WrapOrDie(Result<ORMap> r) {
    if (!r.ok()) std::abort();
    return Wrap(std::move(r).value());
  }

  ORMap map_;
};

}  // namespace convergent
