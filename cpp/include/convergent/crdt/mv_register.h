// MVRegister: the multi-value register. A write replaces every value it observed; writes that
// were concurrent are all kept, and a reader sees each of them (canonical order, duplicates
// merged). A delta-state CRDT: Set returns the delta, an MVRegister joined like a full state.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <optional>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/pruning.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/value.h"

namespace convergent {

class MVRegister {
 public:
  using Store = DotFun<Value>;

  MVRegister Set(ReplicaId replica, Value v);
  void Join(const MVRegister& other);
  // What a replica whose context is `seen` lacks of this value (convergent/crdt/delta_since.h);
  // nullopt when listing what was removed here would cost more than the whole value.
  std::optional<MVRegister> DeltaSince(const CausalContext& seen) const;

  std::vector<Value> Values() const;  // concurrent values, canonical order, no duplicates
  bool empty() const { return store_.empty(); }

  const Store& store() const { return store_; }
  const CausalContext& context() const { return ctx_; }
  static Result<MVRegister> FromParts(Store store, CausalContext ctx);

  // Removed-replica pruning (convergent/crdt/pruning.h).
  bool NeedsPruningFrom(ReplicaId removed) const { return ctx_.HasDotsOf(removed); }
  std::vector<ReplicaId> ModifiedBy() const { return ctx_.Replicas(); }
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p);

  friend bool operator==(const MVRegister&, const MVRegister&) = default;

 private:
  Store store_;
  CausalContext ctx_;
};

}  // namespace convergent
