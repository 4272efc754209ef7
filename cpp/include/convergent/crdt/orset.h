// ORSet: the observed-remove set with add-wins semantics, as a delta-state CRDT. A value's
// presence is the set of dots of the adds that created it; a remove deletes exactly the dots it
// observed (its delta carries them as a causal context), so a concurrent add, whose dot the
// remove did not see, survives.
//
// Every mutator changes the set in place, at a cost proportional to the change, and returns its
// delta, itself an ORSet: joining a delta or a full state is the same Join.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <optional>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/crdt/pruning.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/value.h"

namespace convergent {

class ORSet {
 public:
  using Store = DotMap<Value, DotSet>;

  ORSet Add(ReplicaId replica, Value v);
  ORSet Remove(const Value& v);
  ORSet Clear();
  void Join(const ORSet& other);
  // What a replica whose context is `seen` lacks of this value (convergent/crdt/delta_since.h);
  // nullopt when listing what was removed here would cost more than the whole value.
  std::optional<ORSet> DeltaSince(const CausalContext& seen) const;

  bool Contains(const Value& v) const { return store_.Find(v) != nullptr; }
  size_t size() const { return store_.size(); }
  bool empty() const { return store_.empty(); }
  std::vector<Value> Elements() const;  // in canonical (byte) order

  const Store& store() const { return store_; }
  const CausalContext& context() const { return ctx_; }
  // Builds a set from decoded parts, which it consumes, checking the invariants (every dot in
  // the context, no dot under two elements).
  static Result<ORSet> FromParts(Store&& store, CausalContext&& ctx);
  // The set of `element` under the dot d (counter > 0) alone, its context d alone: the delta of
  // an element's first add, built without checks.
  static ORSet OfDot(Value element, const Dot& d);

  // Removed-replica pruning (convergent/crdt/pruning.h).
  bool NeedsPruningFrom(ReplicaId removed) const { return ctx_.HasDotsOf(removed); }
  std::vector<ReplicaId> ModifiedBy() const { return ctx_.Replicas(); }
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p);

  friend bool operator==(const ORSet&, const ORSet&) = default;

 private:
  Store store_;
  CausalContext ctx_;
};

}  // namespace convergent
