// DotMap<K, S>: a map from keys to nested dot stores (DotFun, or anything with the same join
// interface: empty(), ForEachDot, DropRemoved, AddUnseen, which DotMap itself also offers), the
// dot store behind ORSet and ORMap.
// A key whose store becomes empty disappears.
//
// Cost: joining a delta costs in proportion to the delta. To find the local keys that a small
// remote context removes dots from, the map keeps an index dot -> key, built on the first join
// that needs it and maintained from then on (a value that is only mutated locally never pays for
// it). A join whose context holds more dots than the map holds keys scans the keys instead.
//
// Thread safety: none; owned by one CRDT value.
#pragma once

#include <unordered_map>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"

namespace convergent {

template <typename K, typename S>
class DotMap {
 public:
  using Map = std::unordered_map<K, S>;

  DotMap() = default;
  DotMap(const DotMap& o) : entries_(o.entries_) {}  // the index is rebuilt on demand
  DotMap& operator=(const DotMap& o) {
    entries_ = o.entries_;
    DropIndex();
    return *this;
  }
  DotMap(DotMap&&) = default;
  DotMap& operator=(DotMap&&) = default;

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const Map& entries() const { return entries_; }
  const S* Find(const K& k) const {
    auto it = entries_.find(k);
    return it == entries_.end() ? nullptr : &it->second;
  }

  // Mutation by a CRDT type: `fn(S&, const K&)` changes the store of `k` (created if absent) and
  // reports dots it adds/removes through the returned Tracker, so the index stays right.
  class Tracker {
   public:
    void Added(const Dot& d) {
      if (map_->indexed_) map_->index_[d] = key_;
    }
    void Removed(const Dot& d) {
      if (map_->indexed_) map_->index_.erase(d);
    }

   private:
    friend class DotMap;
    Tracker(DotMap* m, const K* k) : map_(m), key_(k) {}
    DotMap* map_;
    const K* key_;
  };

  template <typename Fn>
  void Mutate(K k, Fn&& fn) {
    auto [it, inserted] = entries_.try_emplace(std::move(k));
    Tracker t(this, &it->first);
    fn(it->second, t);
    if (it->second.empty()) entries_.erase(it);
  }
  template <typename Fn>
  void MutateExisting(const K& k, Fn&& fn) {
    auto it = entries_.find(k);
    if (it == entries_.end()) return;
    Tracker t(this, &it->first);
    fn(it->second, t);
    if (it->second.empty()) entries_.erase(it);
  }
  void Clear() {
    entries_.clear();
    index_.clear();
  }

  // Inserts a decoded entry; false if a dot is already owned by another key (corrupt input).
  bool InsertDecoded(K k, S s) {
    if (s.empty()) return false;
    auto [it, inserted] = entries_.try_emplace(std::move(k), std::move(s));
    if (!inserted) return false;
    DropIndex();
    return true;
  }
  // True when no dot appears under two keys. Builds the index.
  bool DotsAreUnique() {
    DropIndex();
    size_t dots = 0;
    ForEachDot([&](const Dot&) { ++dots; });
    BuildIndex();
    return index_.size() == dots;
  }

  // The causal join of (this, ctx) with (other, other_ctx). ctx is this side's context before
  // the join; the caller joins the contexts afterwards.
  void Join(const DotMap& other, const CausalContext& ctx, const CausalContext& other_ctx) {
    const auto ignore = [](const Dot&) {};
    DropRemoved(&other, other_ctx, ignore, &ctx);
    AddUnseen(other, ctx, ignore);
  }

  // Phase 1 of the join (the dot-store interface, so a DotMap nests in another store): drops
  // the dots that other_ctx has seen and `other` (null: an empty store) no longer holds.
  // `seen`, when given, is this side's context: a dot it does not contain cannot be in this
  // store (every store dot is in its context), so it is not looked up, and joining deltas that
  // only add (their context holds nothing but their new dots) never builds the index.
  template <typename OnDrop>
  void DropRemoved(const DotMap* other, const CausalContext& other_ctx, OnDrop&& on_drop,
                   const CausalContext* seen = nullptr) {
    if (other_ctx.DotCount() <= entries_.size()) {
      std::vector<K> touched;  // copies: an entry may be erased while a later dot names it
      other_ctx.ForEachDot([&](const Dot& d) {
        if (seen != nullptr && !seen->Contains(d)) return;
        if (!indexed_) BuildIndex();
        auto it = index_.find(d);
        if (it != index_.end()) touched.push_back(*it->second);
      });
      for (const K& k : touched) DropRemovedAt(k, other, other_ctx, on_drop);
    } else {
      std::vector<const K*> keys;
      keys.reserve(entries_.size());
      for (const auto& kv : entries_) keys.push_back(&kv.first);
      for (const K* k : keys) DropRemovedAt(*k, other, other_ctx, on_drop);
    }
  }
  // Phase 2 of the join: adds the dots of `other` that ctx (this side's context) has not seen.
  template <typename OnAdd>
  void AddUnseen(const DotMap& other, const CausalContext& ctx, OnAdd&& on_add) {
    for (const auto& [k, os] : other.entries_) {
      auto [it, inserted] = entries_.try_emplace(k);
      Tracker t(this, &it->first);
      it->second.AddUnseen(os, ctx, [&](const Dot& d) {
        t.Added(d);
        on_add(d);
      });
      if (it->second.empty()) entries_.erase(it);
    }
  }
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const auto& kv : entries_) kv.second.ForEachDot(fn);
  }

  friend bool operator==(const DotMap& a, const DotMap& b) { return a.entries_ == b.entries_; }

 private:
  template <typename OnDrop>
  void DropRemovedAt(const K& k, const DotMap* other, const CausalContext& other_ctx,
                     OnDrop& on_drop) {
    auto it = entries_.find(k);
    if (it == entries_.end()) return;  // already emptied through an earlier dot
    const S* os = other != nullptr ? other->Find(k) : nullptr;
    it->second.DropRemoved(os, other_ctx, [&](const Dot& d) {
      if (indexed_) index_.erase(d);
      on_drop(d);
    });
    if (it->second.empty()) entries_.erase(it);
  }
  void BuildIndex() {
    index_.clear();
    index_.reserve(entries_.size());
    for (const auto& kv : entries_) {
      kv.second.ForEachDot([&](const Dot& d) { index_[d] = &kv.first; });
    }
    indexed_ = true;
  }
  void DropIndex() {
    index_.clear();
    indexed_ = false;
  }

  Map entries_;
  std::unordered_map<Dot, const K*> index_;  // valid only when indexed_
  bool indexed_ = false;
};

}  // namespace convergent
