#include "convergent/crdt/orset.h"

#include <algorithm>
#include <utility>

#include "convergent/crdt/delta_since.h"

namespace convergent {

ORSet ORSet::Add(ReplicaId replica, Value v) {
  ORSet delta;
  const Dot added = ctx_.Next(replica);  // first: it is the only step that can throw
  Value delta_key = v;
  store_.Mutate(std::move(v), [&](DotSet& dots, Store::Tracker& t) {
    // The add replaces the dots it observed.
    dots.TakeObserved(delta.ctx_, [&](const Dot& d) { t.Removed(d); });
    dots.Insert(added);
    t.Added(added);
  });
  delta.ctx_.Insert(added);
  delta.store_.Mutate(std::move(delta_key),
                      [&](DotSet& dots, Store::Tracker&) { dots.Insert(added); });
  return delta;
}

ORSet ORSet::Remove(const Value& v) {
  ORSet delta;
  store_.MutateExisting(v, [&](DotSet& dots, Store::Tracker& t) {
    dots.TakeObserved(delta.ctx_, [&](const Dot& d) { t.Removed(d); });
  });
  return delta;
}

ORSet ORSet::Clear() {
  ORSet delta;
  delta.ctx_ = ctx_;  // removing everything observed: every dot of the store is in ctx_
  store_.Clear();
  return delta;
}

void ORSet::Join(const ORSet& other) {
  store_.Join(other.store_, ctx_, other.ctx_);
  ctx_.Join(other.ctx_);
}

std::vector<Value> ORSet::Elements() const {
  std::vector<Value> out;
  out.reserve(store_.size());
  for (const auto& kv : store_.entries()) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<PruningRecord> ORSet::Prune(ReplicaId removed, ReplicaId into) {
  return pruning::PruneStore(store_, ctx_, removed, into);
}

void ORSet::PruningCleanup(const PruningRecord& p) { pruning::CleanStore(store_, ctx_, p); }

ORSet ORSet::OfDot(Value element, const Dot& d) {
  ORSet s;
  s.store_.Mutate(std::move(element), [&](DotSet& dots, Store::Tracker&) { dots.Insert(d); });
  s.ctx_ = CausalContext::OfDot(d);
  return s;
}

Result<ORSet> ORSet::FromParts(Store&& store, CausalContext&& ctx) {
  for (const auto& [v, dots] : store.entries()) {
    for (const auto& e : dots) {
      if (!ctx.Contains(e.dot)) return Status::Corruption("ORSet: a dot outside the context");
    }
  }
  // A DotSet holds each dot once, so only two or more elements can share one: a one-element
  // state (every add delta) skips building the dot index (~10% of the cost of decoding it).
  if (store.size() > 1 && !store.DotsAreUnique(ctx)) {
    return Status::Corruption("ORSet: a dot under two elements");
  }
  Result<ORSet> out(std::in_place);  // filled in place: moving a whole set costs a delta ~10%
  out->store_ = std::move(store);
  out->ctx_ = std::move(ctx);
  return out;
}

std::optional<ORSet> ORSet::DeltaSince(const CausalContext& seen) const {
  auto parts = CausalDeltaSince(store_, ctx_, seen);
  if (!parts) return std::nullopt;
  ORSet delta;
  delta.store_ = std::move(parts->first);
  delta.ctx_ = std::move(parts->second);
  return delta;
}

}  // namespace convergent
