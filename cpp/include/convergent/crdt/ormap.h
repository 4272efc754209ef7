// ORMap: a map from user values to nested CRDTs (see map_entry.h for the nestable types), keys
// add-wins. All entries share the map's causal context, so removing a key removes exactly what
// the remover observed, and an update concurrent with the remove survives. A delta-state CRDT:
// every mutator changes the map in place, costs in proportion to the change, and returns its
// delta (an ORMap); a delta and a full state are joined by the same Join.
//
// Mutators name the type of the key's value; updating a key that readers see as another type is
// a TypeMismatch error (nothing changes), a non-nestable type an InvalidArgument.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/crdt/flag.h"
#include "convergent/crdt/gcounter.h"
#include "convergent/crdt/gset.h"
#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/map_entry.h"
#include "convergent/crdt/mv_register.h"
#include "convergent/crdt/orset.h"
#include "convergent/crdt/pruning.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/value.h"

namespace convergent {

class ORMap {
 public:
  using Store = DotMap<Value, MapEntry>;

  // GCounter (n >= 0 only) or PNCounter.
  Result<ORMap> Increment(ReplicaId replica, const Value& key, int64_t n,
                          CrdtType type = CrdtType::kPNCounter);
  // LWWRegister: writes at max(clock, greatest observed timestamp + 1).
  Result<ORMap> SetRegister(ReplicaId replica, const Value& key, Value v, uint64_t clock);
  Result<ORMap> SetMultiValue(ReplicaId replica, const Value& key, Value v);
  // ORSet or GSet.
  Result<ORMap> AddElement(ReplicaId replica, const Value& key, Value element,
                           CrdtType type = CrdtType::kORSet);
  Result<ORMap> RemoveElement(const Value& key, const Value& element);  // ORSet
  Result<ORMap> ClearSet(const Value& key);                             // ORSet
  Result<ORMap> EnableFlag(ReplicaId replica, const Value& key);
  // Removes the key (whatever its type); an absent key gives an empty delta.
  ORMap Remove(const Value& key);
  void Join(const ORMap& other);
  // What a replica whose context is `seen` lacks of this value (convergent/crdt/delta_since.h);
  // nullopt when listing what was removed here would cost more than the whole value.
  std::optional<ORMap> DeltaSince(const CausalContext& seen) const;

  bool Contains(const Value& key) const { return store_.Find(key) != nullptr; }
  size_t size() const { return store_.size(); }
  bool empty() const { return store_.empty(); }
  std::vector<Value> Keys() const;  // canonical order
  const MapEntry* Find(const Value& key) const { return store_.Find(key); }
  std::optional<CrdtType> TypeOf(const Value& key) const;

  // Snapshots of a key's value as a standalone CRDT of its type (nullopt when the key is absent
  // or readers see another type).
  std::optional<GCounter> GetGCounter(const Value& key) const;
  std::optional<PNCounter> GetPNCounter(const Value& key) const;
  std::optional<LWWRegister> GetLWWRegister(const Value& key) const;
  std::optional<MVRegister> GetMVRegister(const Value& key) const;
  std::optional<ORSet> GetORSet(const Value& key) const;
  std::optional<GSet> GetGSet(const Value& key) const;
  std::optional<Flag> GetFlag(const Value& key) const;

  const Store& store() const { return store_; }
  const CausalContext& context() const { return ctx_; }
  // Builds a map from decoded parts, checking the invariants (dots inside the context, no dot
  // twice, nestable types only).
  static Result<ORMap> FromParts(Store store, CausalContext ctx);

  // Removed-replica pruning (convergent/crdt/pruning.h).
  bool NeedsPruningFrom(ReplicaId removed) const { return ctx_.HasDotsOf(removed); }
  std::vector<ReplicaId> ModifiedBy() const { return ctx_.Replicas(); }
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p);

  friend bool operator==(const ORMap&, const ORMap&) = default;

 private:
  // Runs `fn(part_store, tracker_callbacks...)` on the `type` part of `key`, after clearing the
  // parts of other types, and builds the delta: the dots observed and removed, plus the new part.
  template <typename S, typename Fn>
  Result<ORMap> Update(const Value& key, CrdtType type, Fn&& fn);
  const MapEntry::Part* VisiblePart(const Value& key, CrdtType type) const;

  Store store_;
  CausalContext ctx_;
};

}  // namespace convergent
