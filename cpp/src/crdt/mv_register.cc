#include "convergent/crdt/mv_register.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "convergent/crdt/delta_since.h"

namespace convergent {

MVRegister MVRegister::Set(ReplicaId replica, Value v) {
  MVRegister delta;
  const Dot d = ctx_.Next(replica);                    // first: it is the only step that can throw
  store_.TakeObserved(delta.ctx_, [](const Dot&) {});  // overwrites what it observed
  store_.Insert(d, v);
  delta.store_.Insert(d, std::move(v));
  delta.ctx_.Insert(d);
  return delta;
}

void MVRegister::Join(const MVRegister& other) {
  store_.DropRemoved(&other.store_, other.ctx_, [](const Dot&) {});
  store_.AddUnseen(other.store_, ctx_, [](const Dot&) {});
  ctx_.Join(other.ctx_);
}

std::vector<Value> MVRegister::Values() const {
  std::vector<Value> out;
  // A replica's newer write overwrote its older ones (a replica always observes its own
  // writes): an older entry of the same replica, left where the delta that removed it was lost,
  // is not a concurrent value. The store is in dot order, so a replica's newest entry is last.
  const auto& entries = store_;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    const auto next = std::next(it);
    if (next != entries.end() && next->dot.replica == it->dot.replica) continue;
    out.push_back(it->value);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<PruningRecord> MVRegister::Prune(ReplicaId removed, ReplicaId into) {
  // Values() takes an older entry of a replica for one its newer write overwrote: a value the
  // target already holds and a moved one would look like that. Wait for a write to resolve them.
  if (removed != into && pruning::HoldsDotOf(store_, removed) &&
      pruning::HoldsDotOf(store_, into)) {
    return std::nullopt;
  }
  return pruning::PruneStore(store_, ctx_, removed, into);
}

void MVRegister::PruningCleanup(const PruningRecord& p) { pruning::CleanStore(store_, ctx_, p); }

Result<MVRegister> MVRegister::FromParts(Store store, CausalContext ctx) {
  for (const auto& e : store) {
    if (!ctx.Contains(e.dot)) return Status::Corruption("MVRegister: a dot outside the context");
  }
  MVRegister r;
  r.store_ = std::move(store);
  r.ctx_ = std::move(ctx);
  return r;
}

std::optional<MVRegister> MVRegister::DeltaSince(const CausalContext& seen) const {
  auto parts = CausalDeltaSince(store_, ctx_, seen);
  if (!parts) return std::nullopt;
  MVRegister delta;
  delta.store_ = std::move(parts->first);
  delta.ctx_ = std::move(parts->second);
  return delta;
}

}  // namespace convergent
