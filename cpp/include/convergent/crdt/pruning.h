// Removed-replica pruning: when a replica incarnation is gone for good (its node restarted as a
// new incarnation, or left), its counter slots and the dots it created would stay in every value
// it ever wrote, one slot or context entry per dead incarnation, forever. Pruning collapses them
// into a target replica without changing any value (Akka Distributed Data's RemovedNodePruning is
// the model; the replicator decides who prunes and when, see docs/concepts.md).
//
// The target is not a writer: it is PruningTarget(owner), a replica id that only the pruning
// node (the owner) gives slots and dots to. Its slots and dots hold what removed replicas wrote,
// beside the owner's own, so no delta of the owner's own writes ever carries a removed
// replica's count, and a remove that observed a removed replica's dot can be translated exactly.
//
//   - The owner calls Prune(removed, target) on its value once it holds what every member holds
//     of the removed replica. A counter adds the removed slot to the target's. A causal type gives
//     each live dot of the removed replica a new dot of the target (the dots "moved", ascending,
//     numbered from `first`) and forgets the removed replica in its context. A map's counter
//     value (a replica's total under its latest dot) folds: the target's latest entry and the
//     removed one become one new target dot holding their sum.
//   - Every other replica, on learning of the pruning (the PruningRecord travels with the key's
//     state), calls PruningCleanup(record) on its own value and on every value that still holds
//     the removed replica before joining it: a counter drops the slot (the target's slot now holds
//     it); a causal type moves the listed dots the same way, drops the removed replica's other
//     dots (the owner had seen them removed) and translates its context, so that a remove that
//     observed a moved dot also removes the dot it became (a fold: that observed both folded
//     entries).
//
// Joining cleaned and pruned values gives what joining the unpruned ones would have given. Prune
// returns nullopt, changing nothing, when it must wait: a multi-value register (or map value)
// with live values of both the removed replica and the target (a reader takes a replica's older
// entry for one its newer write overwrote; the next write resolves them), or a target total
// that would pass 2^64-1.
//
// Thread safety: plain values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/ids.h"

namespace convergent {

// The replica that prunings by `owner` collapse removed replicas into: derived from the owner's
// id, and never a writer's (writers draw random ids; this one has its own hash).
inline ReplicaId PruningTarget(ReplicaId owner) {
  uint64_t h = (owner.value ^ 0x70A1'7E5D'0C0A'11EDull) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  return ReplicaId{h == 0 ? 1 : h};
}

struct PruningRecord {
  ReplicaId removed;
  ReplicaId into;               // the target
  uint64_t first = 0;           // the target's counter of the first moved dot
  std::vector<uint64_t> moved;  // ascending: counters of the removed replica's moved dots
  // Map counter values: (removed, removed_counter) and (into, target_counter) (0: the target had
  // no entry there) became (into, counter).
  struct Fold {
    uint64_t removed_counter = 0;
    uint64_t target_counter = 0;
    uint64_t counter = 0;
    friend bool operator==(const Fold&, const Fold&) = default;
  };
  std::vector<Fold> folds;

  // The dot that (removed, counter) became, or nullopt when it was not moved.
  std::optional<Dot> MovedTo(uint64_t counter) const {
    auto it = std::lower_bound(moved.begin(), moved.end(), counter);
    if (it == moved.end() || *it != counter) return std::nullopt;
    return Dot{into, first + static_cast<uint64_t>(it - moved.begin())};
  }
  // A record that forgets `r`: a cleanup with it drops every slot and dot of r, moving none
  // (replica/stale_restore.h: a copy that holds a replica its peers pruned long ago).
  static PruningRecord Forgetting(ReplicaId r) { return PruningRecord{r, r, 0, {}, {}}; }
  // Where a dot goes: itself, its new dot, or nowhere (nullopt: a dot of the removed replica
  // that was not moved).
  std::optional<Dot> Rewrite(const Dot& d) const {
    return d.replica == removed ? MovedTo(d.counter) : std::optional<Dot>(d);
  }

  friend bool operator==(const PruningRecord&, const PruningRecord&) = default;
};

namespace pruning {

// The context after a pruning: the removed replica forgotten, and each moved dot it contained
// replaced by the dot it became.
inline void TranslateContext(CausalContext& ctx, const PruningRecord& p) {
  std::vector<Dot> became;
  for (size_t i = 0; i < p.moved.size(); ++i) {
    if (ctx.Contains(Dot{p.removed, p.moved[i]})) became.push_back(Dot{p.into, p.first + i});
  }
  ctx.DropReplica(p.removed);
  for (const Dot& d : became) ctx.Insert(d);
}

// A dot store with the removed replica's dots moved or dropped (see PruningRecord::Rewrite).
template <typename T>
DotFun<T> Rewritten(const DotFun<T>& s, const PruningRecord& p) {
  DotFun<T> out;
  for (const auto& e : s) {
    if (std::optional<Dot> d = p.Rewrite(e.dot)) out.Insert(*d, e.value);
  }
  return out;
}

// A map of dot sets (an ORSet's elements, a map's set values) rewritten the same way; elements
// left without dots go.
template <typename K>
DotMap<K, DotSet> Rewritten(const DotMap<K, DotSet>& s, const PruningRecord& p) {
  DotMap<K, DotSet> out;
  for (const auto& [k, dots] : s.entries()) {
    DotSet d = Rewritten(dots, p);
    if (!d.empty()) out.InsertDecoded(k, std::move(d));
  }
  return out;
}

// Whether a store holds a live dot of replica r.
template <typename S>
bool HoldsDotOf(const S& s, ReplicaId r) {
  bool found = false;
  s.ForEachDot([&](const Dot& d) { found = found || d.replica == r; });
  return found;
}

// The ascending counters of r's live dots in a store, appended to `out`.
template <typename S>
void CollectCounters(const S& s, ReplicaId r, std::vector<uint64_t>& out) {
  s.ForEachDot([&](const Dot& d) {
    if (d.replica == r) out.push_back(d.counter);
  });
}

// The record of a pruning: every live dot of `removed` in `counters` (collected from the stores,
// any order) moves to a new dot of the target, numbered after the target's last.
inline PruningRecord Plan(ReplicaId removed, ReplicaId into, std::vector<uint64_t> counters,
                          CausalContext& ctx) {
  PruningRecord p{removed, into, 0, std::move(counters), {}};
  std::sort(p.moved.begin(), p.moved.end());
  p.moved.erase(std::unique(p.moved.begin(), p.moved.end()), p.moved.end());
  if (!p.moved.empty()) {  // reserves the new dots, so that later ones (folds) come after
    p.first = ctx.Next(into).counter;
    for (uint64_t i = 1; i < p.moved.size(); ++i) ctx.Insert(Dot{into, p.first + i});
  }
  return p;
}

// The pruning of a causal value that is one dot store and its context (ORSet, MVRegister): every
// live dot of `removed` moves to the target, and the context follows.
template <typename S>
PruningRecord PruneStore(S& store, CausalContext& ctx, ReplicaId removed, ReplicaId into);
// The cleanup of such a value with a record (a no-op when it holds nothing of the removed one).
template <typename S>
void CleanStore(S& store, CausalContext& ctx, const PruningRecord& p) {
  if (!ctx.HasDotsOf(p.removed)) return;
  store = Rewritten(store, p);
  TranslateContext(ctx, p);
}
template <typename S>
PruningRecord PruneStore(S& store, CausalContext& ctx, ReplicaId removed, ReplicaId into) {
  if (removed == into) return PruningRecord{removed, into, 0, {}, {}};
  std::vector<uint64_t> counters;
  CollectCounters(store, removed, counters);
  PruningRecord p = Plan(removed, into, std::move(counters), ctx);
  CleanStore(store, ctx, p);
  return p;
}

}  // namespace pruning
}  // namespace convergent
