#include "convergent/crdt/ormap.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "convergent/crdt/delta_since.h"

namespace convergent {
namespace {

Status WrongType(CrdtType have, CrdtType want) {
  return Status::TypeMismatch("map key holds " + CrdtTypeWithArticle(have) + ", not " +
                              CrdtTypeWithArticle(want));
}

// The current counts of each replica in a counter part. A replica's entries supersede each
// other (each holds its running totals, and every increment replaces the replica's entry it
// observed), so the newest dot of a replica is its count. Older ones linger where the delta that
// removed them was lost and only later deltas arrived; they are not counted again.
std::vector<std::pair<ReplicaId, CounterPayload>> LatestCounts(const CounterStore& s) {
  std::vector<std::pair<ReplicaId, CounterPayload>> out;
  for (const auto& e : s) {  // in dot order: a replica's entries are adjacent, oldest first
    if (!out.empty() && out.back().first == e.dot.replica) {
      out.back().second = e.value;
    } else {
      out.emplace_back(e.dot.replica, e.value);
    }
  }
  return out;
}

// A replica's latest entry in a counter store, or null.
const CounterStore::Entry* LatestOf(const CounterStore& s, ReplicaId r) {
  const CounterStore::Entry* out = nullptr;
  for (const auto& e : s) {  // dot order: the latest last
    if (e.dot.replica == r) out = &e;
  }
  return out;
}

}  // namespace

std::optional<CrdtType> ORMap::TypeOf(const Value& key) const {
  const MapEntry* e = store_.Find(key);
  if (e == nullptr) return std::nullopt;
  return e->type();
}

const MapEntry::Part* ORMap::VisiblePart(const Value& key, CrdtType type) const {
  const MapEntry* e = store_.Find(key);
  return e != nullptr && e->type() == type ? e->Find(type) : nullptr;
}

template <typename S, typename Fn>
Result<ORMap> ORMap::Update(const Value& key, CrdtType type, Fn&& fn) {
  if (!IsNestable(type)) {
    return Status::InvalidArgument("an ORMap cannot hold " + CrdtTypeWithArticle(type));
  }
  if (auto have = TypeOf(key); have && *have != type) return WrongType(*have, type);
  ORMap delta;
  S delta_part;
  store_.Mutate(key, [&](MapEntry& entry, Store::Tracker& t) {
    auto removed = [&](const Dot& d) { t.Removed(d); };
    auto added = [&](const Dot& d) { t.Added(d); };
    // Parts of other types (left by concurrent updates) are overwritten by this update.
    entry.TakePartsExcept(type, delta.ctx_, removed);
    fn(std::get<S>(entry.FindOrAdd(type).store), delta_part, delta.ctx_, removed, added);
    entry.Prune();
  });
  if (!delta_part.empty()) {
    delta.store_.Mutate(key, [&](MapEntry& entry, Store::Tracker&) {
      entry.FindOrAdd(type).store = std::move(delta_part);
    });
  }
  return delta;
}

Result<ORMap> ORMap::Increment(ReplicaId replica, const Value& key, int64_t n, CrdtType type) {
  if (type == CrdtType::kGCounter && n < 0) {
    return Status::InvalidArgument("a GCounter cannot be decremented");
  }
  if (type != CrdtType::kGCounter && type != CrdtType::kPNCounter) {
    return Status::InvalidArgument("Increment needs the GCounter or PNCounter type");
  }
  // This replica's running totals (normally under one dot), checked before anything changes.
  CounterPayload total;
  if (const MapEntry::Part* p = VisiblePart(key, type)) {
    for (const auto& e : std::get<CounterStore>(p->store)) {
      if (e.dot.replica != replica) continue;
      total.increments += e.value.increments;
      total.decrements += e.value.decrements;
    }
  }
  uint64_t& slot = n >= 0 ? total.increments : total.decrements;
  const uint64_t magnitude = n >= 0 ? static_cast<uint64_t>(n) : 0 - static_cast<uint64_t>(n);
  if (slot > std::numeric_limits<uint64_t>::max() - magnitude) {
    return Status::InvalidArgument("counter slot of a replica would exceed 2^64-1");
  }
  slot += magnitude;
  return Update<CounterStore>(
      key, type,
      [&](CounterStore& s, CounterStore& ds, CausalContext& dctx, auto& removed, auto& added) {
        s.TakeObserved(
            dctx, [&](const auto& e) { return e.dot.replica == replica; }, removed);
        const Dot d = ctx_.Next(replica);
        s.Insert(d, total);
        ds.Insert(d, total);
        dctx.Insert(d);
        added(d);
      });
}

Result<ORMap> ORMap::SetRegister(ReplicaId replica, const Value& key, Value v, uint64_t clock) {
  return Update<RegisterStore>(
      key, CrdtType::kLWWRegister,
      [&](RegisterStore& s, RegisterStore& ds, CausalContext& dctx, auto& removed, auto& added) {
        uint64_t last = 0;
        for (const auto& e : s) last = std::max(last, e.value.timestamp);
        s.TakeObserved(dctx, removed);
        const Dot d = ctx_.Next(replica);
        RegisterPayload payload{std::max(clock, last + 1), replica, std::move(v)};
        ds.Insert(d, payload);
        s.Insert(d, std::move(payload));
        dctx.Insert(d);
        added(d);
      });
}

Result<ORMap> ORMap::SetMultiValue(ReplicaId replica, const Value& key, Value v) {
  return Update<MultiValueStore>(key, CrdtType::kMVRegister,
                                 [&](MultiValueStore& s, MultiValueStore& ds, CausalContext& dctx,
                                     auto& removed, auto& added) {
                                   s.TakeObserved(dctx, removed);
                                   const Dot d = ctx_.Next(replica);
                                   ds.Insert(d, v);
                                   s.Insert(d, std::move(v));
                                   dctx.Insert(d);
                                   added(d);
                                 });
}

Result<ORMap> ORMap::AddElement(ReplicaId replica, const Value& key, Value element, CrdtType type) {
  if (type != CrdtType::kORSet && type != CrdtType::kGSet) {
    return Status::InvalidArgument("AddElement needs the ORSet or GSet type");
  }
  return Update<SetStore>(
      key, type, [&](SetStore& s, SetStore& ds, CausalContext& dctx, auto& removed, auto& added) {
        const Dot d = ctx_.Next(replica);
        s.Mutate(element, [&](DotSet& dots, SetStore::Tracker& t) {
          dots.TakeObserved(dctx, [&](const Dot& old) {
            t.Removed(old);
            removed(old);
          });
          dots.Insert(d);
          t.Added(d);
        });
        ds.Mutate(std::move(element), [&](DotSet& dots, SetStore::Tracker&) { dots.Insert(d); });
        dctx.Insert(d);
        added(d);
      });
}

Result<ORMap> ORMap::RemoveElement(const Value& key, const Value& element) {
  return Update<SetStore>(key, CrdtType::kORSet,
                          [&](SetStore& s, SetStore&, CausalContext& dctx, auto& removed, auto&) {
                            s.MutateExisting(element, [&](DotSet& dots, SetStore::Tracker& t) {
                              dots.TakeObserved(dctx, [&](const Dot& d) {
                                t.Removed(d);
                                removed(d);
                              });
                            });
                          });
}

Result<ORMap> ORMap::ClearSet(const Value& key) {
  return Update<SetStore>(key, CrdtType::kORSet,
                          [&](SetStore& s, SetStore&, CausalContext& dctx, auto& removed, auto&) {
                            s.ForEachDot([&](const Dot& d) {
                              dctx.Insert(d);
                              removed(d);
                            });
                            s.Clear();
                          });
}

Result<ORMap> ORMap::EnableFlag(ReplicaId replica, const Value& key) {
  return Update<FlagStore>(
      key, CrdtType::kFlag,
      [&](FlagStore& s, FlagStore& ds, CausalContext& dctx, auto& removed, auto& added) {
        s.TakeObserved(dctx, removed);
        const Dot d = ctx_.Next(replica);
        s.Insert(d);
        ds.Insert(d);
        dctx.Insert(d);
        added(d);
      });
}

ORMap ORMap::Remove(const Value& key) {
  ORMap delta;
  store_.MutateExisting(key, [&](MapEntry& entry, Store::Tracker& t) {
    entry.TakePartsExcept(std::nullopt, delta.ctx_, [&](const Dot& d) { t.Removed(d); });
  });
  return delta;
}

void ORMap::Join(const ORMap& other) {
  store_.Join(other.store_, ctx_, other.ctx_);
  ctx_.Join(other.ctx_);
}

std::vector<Value> ORMap::Keys() const {
  std::vector<Value> out;
  out.reserve(store_.size());
  for (const auto& kv : store_.entries()) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<GCounter> ORMap::GetGCounter(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kGCounter);
  if (p == nullptr) return std::nullopt;
  std::vector<GCounter::Slot> slots;
  for (const auto& [replica, count] : LatestCounts(std::get<CounterStore>(p->store))) {
    slots.emplace_back(replica, count.increments);
  }
  auto c = GCounter::FromSlots(std::move(slots));
  return c.ok() ? std::optional<GCounter>(std::move(c).value()) : std::nullopt;
}

std::optional<PNCounter> ORMap::GetPNCounter(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kPNCounter);
  if (p == nullptr) return std::nullopt;
  std::vector<GCounter::Slot> inc, dec;
  for (const auto& [replica, count] : LatestCounts(std::get<CounterStore>(p->store))) {
    inc.emplace_back(replica, count.increments);
    dec.emplace_back(replica, count.decrements);
  }
  auto pi = GCounter::FromSlots(std::move(inc));
  auto pd = GCounter::FromSlots(std::move(dec));
  if (!pi.ok() || !pd.ok()) return std::nullopt;
  return PNCounter::FromParts(std::move(pi).value(), std::move(pd).value());
}

std::optional<LWWRegister> ORMap::GetLWWRegister(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kLWWRegister);
  if (p == nullptr) return std::nullopt;
  const auto& s = std::get<RegisterStore>(p->store);
  auto best = std::max_element(s.begin(), s.end(),
                               [](const auto& a, const auto& b) { return a.value < b.value; });
  return LWWRegister::FromParts(best->value.value, best->value.timestamp, best->value.replica);
}

std::optional<MVRegister> ORMap::GetMVRegister(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kMVRegister);
  if (p == nullptr) return std::nullopt;
  const auto& s = std::get<MultiValueStore>(p->store);
  CausalContext ctx;
  s.ForEachDot([&](const Dot& d) { ctx.Insert(d); });
  auto r = MVRegister::FromParts(s, std::move(ctx));
  return r.ok() ? std::optional<MVRegister>(std::move(r).value()) : std::nullopt;
}

std::optional<ORSet> ORMap::GetORSet(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kORSet);
  if (p == nullptr) return std::nullopt;
  const auto& s = std::get<SetStore>(p->store);
  CausalContext ctx;
  s.ForEachDot([&](const Dot& d) { ctx.Insert(d); });
  auto r = ORSet::FromParts(ORSet::Store(s), std::move(ctx));
  return r.ok() ? std::optional<ORSet>(std::move(r).value()) : std::nullopt;
}

std::optional<GSet> ORMap::GetGSet(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kGSet);
  if (p == nullptr) return std::nullopt;
  GSet out;
  for (const auto& kv : std::get<SetStore>(p->store).entries()) out.Add(kv.first);
  return out;
}

std::optional<Flag> ORMap::GetFlag(const Value& key) const {
  const MapEntry::Part* p = VisiblePart(key, CrdtType::kFlag);
  if (p == nullptr) return std::nullopt;
  return Flag(true);  // a flag part is never empty
}

std::optional<PruningRecord> ORMap::Prune(ReplicaId removed, ReplicaId into) {
  if (removed == into) return PruningRecord{removed, into, 0, {}, {}};
  struct CounterFold {
    Value key;
    CrdtType type;
    uint64_t removed_counter, target_counter;
    CounterPayload sum;
  };
  std::vector<CounterFold> folds;
  std::vector<uint64_t> counters;  // the removed replica's other live dots, to be moved
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (const auto& [key, entry] : store_.entries()) {
    for (const MapEntry::Part& part : entry.parts()) {
      if (const auto* cs = std::get_if<CounterStore>(&part.store)) {
        const CounterStore::Entry* r = LatestOf(*cs, removed);
        if (r == nullptr) continue;
        const CounterStore::Entry* o = LatestOf(*cs, into);
        const CounterPayload held = o != nullptr ? o->value : CounterPayload{};
        if (held.increments > kMax - r->value.increments ||
            held.decrements > kMax - r->value.decrements) {
          return std::nullopt;
        }
        folds.push_back({key, part.type, r->dot.counter, o != nullptr ? o->dot.counter : 0,
                         {held.increments + r->value.increments,
                          held.decrements + r->value.decrements}});
        continue;
      }
      if (const auto* mv = std::get_if<MultiValueStore>(&part.store);
          mv != nullptr && pruning::HoldsDotOf(*mv, removed) && pruning::HoldsDotOf(*mv, into)) {
        return std::nullopt;  // as for MVRegister
      }
      std::visit([&](const auto& s) { pruning::CollectCounters(s, removed, counters); },
                 part.store);
    }
  }
  PruningRecord p = pruning::Plan(removed, into, std::move(counters), ctx_);
  for (const CounterFold& f : folds) {
    p.folds.push_back({f.removed_counter, f.target_counter, ctx_.Next(into).counter});
  }
  PruningCleanup(p);  // moves, drops the removed replica's counter entries, records the folds
  for (size_t i = 0; i < folds.size(); ++i) {
    const Dot d{into, p.folds[i].counter};
    store_.Mutate(folds[i].key, [&](MapEntry& e, Store::Tracker& t) {
      auto& cs = std::get<CounterStore>(e.FindOrAdd(folds[i].type).store);
      CausalContext observed;  // the target's older entries go: their dots stay in ctx_
      cs.TakeObserved(
          observed, [&](const auto& entry) { return entry.dot.replica == into; },
          [&](const Dot& x) { t.Removed(x); });
      cs.Insert(d, folds[i].sum);
      t.Added(d);
    });
  }
  return p;
}

void ORMap::PruningCleanup(const PruningRecord& p) {
  if (!ctx_.HasDotsOf(p.removed)) return;
  // A fold's dot is seen here when both dots it replaced were removed here (seen, not held).
  std::vector<Dot> folded;
  if (!p.folds.empty()) {
    std::set<Dot> live;
    store_.ForEachDot([&](const Dot& d) {
      if (d.replica == p.removed || d.replica == p.into) live.insert(d);
    });
    const auto removed_here = [&](const Dot& d) { return ctx_.Contains(d) && !live.count(d); };
    for (const PruningRecord::Fold& f : p.folds) {
      if (removed_here(Dot{p.removed, f.removed_counter}) &&
          (f.target_counter == 0 || removed_here(Dot{p.into, f.target_counter}))) {
        folded.push_back(Dot{p.into, f.counter});
      }
    }
  }
  const PruningRecord drop{p.removed, p.into, 0, {}, {}};  // counter entries are folded
  Store out;
  for (const auto& [key, entry] : store_.entries()) {
    MapEntry e;
    for (const MapEntry::Part& part : entry.parts()) {
      e.FindOrAdd(part.type).store = std::visit(
          [&](const auto& s) -> MapEntry::Store {
            if constexpr (std::is_same_v<std::decay_t<decltype(s)>, CounterStore>) {
              return pruning::Rewritten(s, drop);
            } else {
              return pruning::Rewritten(s, p);
            }
          },
          part.store);
    }
    e.Prune();
    if (!e.empty()) out.InsertDecoded(key, std::move(e));
  }
  store_ = std::move(out);
  pruning::TranslateContext(ctx_, p);
  for (const Dot& d : folded) ctx_.Insert(d);
}

Result<ORMap> ORMap::FromParts(Store store, CausalContext ctx) {
  bool inside = true;
  for (const auto& [k, entry] : store.entries()) {
    if (entry.empty()) return Status::Corruption("ORMap: an empty entry");
    for (const auto& part : entry.parts()) {
      if (!IsNestable(part.type)) return Status::Corruption("ORMap: a value type it cannot hold");
    }
    entry.ForEachDot([&](const Dot& d) { inside = inside && ctx.Contains(d); });
  }
  if (!inside) return Status::Corruption("ORMap: a dot outside the context");
  if (!store.DotsAreUnique(ctx)) return Status::Corruption("ORMap: a dot used twice");
  ORMap m;
  m.store_ = std::move(store);
  m.ctx_ = std::move(ctx);
  return m;
}

std::optional<ORMap> ORMap::DeltaSince(const CausalContext& seen) const {
  auto parts = CausalDeltaSince(store_, ctx_, seen);
  if (!parts) return std::nullopt;
  ORMap delta;
  delta.store_ = std::move(parts->first);
  delta.ctx_ = std::move(parts->second);
  return delta;
}

}  // namespace convergent
