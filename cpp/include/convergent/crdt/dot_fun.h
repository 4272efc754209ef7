// DotFun<T>: a small map from dots to immutable payloads, sorted by dot; the "dot store" of the
// delta-state CRDT literature (Almeida, Shoker, Baquero). DotSet is DotFun<Unit>. A causal CRDT
// pairs one or more dot stores with a CausalContext; JoinWith implements the causal join
//   (s, c) |_| (s', c') = (s & s') | (s - c') | (s' - c)
// on one store, where a dot absent from a store but present in its context means "removed".
//
// Thread safety: none; owned by one CRDT value.
#pragma once

#include <algorithm>
#include <utility>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/inlined_vector.h"
#include "convergent/ids.h"

namespace convergent {

struct Unit {
  friend bool operator==(Unit, Unit) { return true; }
};

template <typename T>
struct DotEntry {
  Dot dot;
  [[no_unique_address]] T value;
  friend bool operator==(const DotEntry&, const DotEntry&) = default;
};

template <typename T>
class DotFun {
 public:
  using Entry = DotEntry<T>;
  using Storage = absl::InlinedVector<Entry, 1>;

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  const Entry* Find(const Dot& d) const {
    auto it = LowerBound(d);
    return it != entries_.end() && it->dot == d ? &*it : nullptr;
  }
  // Inserts (or keeps the existing payload of) a dot.
  void Insert(const Dot& d, T value = T{}) {
    if (entries_.empty() || entries_.back().dot < d) {  // the common case: a newer dot
      entries_.push_back(Entry{d, std::move(value)});
      return;
    }
    auto it = LowerBound(d);
    if (it == entries_.end() || it->dot != d) entries_.insert(it, Entry{d, std::move(value)});
  }
  void Clear() { entries_.clear(); }

  // An overwrite that observed these dots: removes every dot for which which(entry) holds,
  // records it in delta_ctx (so the delta removes exactly what was observed) and calls
  // on_removed(dot). Returns the removed entries' payloads in dot order.
  template <typename Which, typename OnRemoved>
  Storage TakeObserved(CausalContext& delta_ctx, Which&& which, OnRemoved&& on_removed) {
    Storage taken;
    auto kept = std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      if (!which(e)) return false;
      delta_ctx.Insert(e.dot);
      on_removed(e.dot);
      taken.push_back(e);
      return true;
    });
    entries_.erase(kept, entries_.end());
    return taken;
  }
  // Removes every dot, the same way, keeping no payloads.
  template <typename OnRemoved>
  void TakeObserved(CausalContext& delta_ctx, OnRemoved&& on_removed) {
    for (const Entry& e : entries_) {
      delta_ctx.Insert(e.dot);
      on_removed(e.dot);
    }
    entries_.clear();
  }
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const Entry& e : entries_) fn(e.dot);
  }
  // A copy of the entries whose dot keep(dot) keeps; keep is called once for every dot.
  template <typename Keep>
  DotFun Filtered(Keep&& keep) const {
    DotFun out;
    for (const Entry& e : entries_) {
      if (keep(e.dot)) out.entries_.push_back(e);
    }
    return out;
  }

  // Phase 1 of the causal join: drops this store's dots that `other_ctx` has seen but `other`
  // no longer holds (removed there). Calls on_drop(dot) for each dropped dot.
  template <typename OnDrop>
  void DropRemoved(const DotFun* other, const CausalContext& other_ctx, OnDrop&& on_drop) {
    auto removed = std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      if (!other_ctx.Contains(e.dot) || (other != nullptr && other->Find(e.dot))) return false;
      on_drop(e.dot);
      return true;
    });
    entries_.erase(removed, entries_.end());
  }
  // Phase 2 of the causal join: adds the dots of `other` that `ctx` (this side's context before
  // the join) has not seen. Calls on_add(dot) for each added dot.
  template <typename OnAdd>
  void AddUnseen(const DotFun& other, const CausalContext& ctx, OnAdd&& on_add) {
    for (const Entry& e : other.entries_) {
      if (ctx.Contains(e.dot) || Find(e.dot)) continue;
      Insert(e.dot, e.value);
      on_add(e.dot);
    }
  }

  friend bool operator==(const DotFun& a, const DotFun& b) { return a.entries_ == b.entries_; }

 private:
  typename Storage::iterator LowerBound(const Dot& d) {
    return std::lower_bound(entries_.begin(), entries_.end(), d,
                            [](const Entry& e, const Dot& x) { return e.dot < x; });
  }
  typename Storage::const_iterator LowerBound(const Dot& d) const {
    return std::lower_bound(entries_.begin(), entries_.end(), d,
                            [](const Entry& e, const Dot& x) { return e.dot < x; });
  }

  Storage entries_;
};

using DotSet = DotFun<Unit>;

}  // namespace convergent
