// DotMap<K, S>: a map from keys to nested dot stores (DotFun, or anything with the same join
// interface: empty(), ForEachDot, DropRemoved, AddUnseen, which DotMap itself also offers), the
// dot store behind ORSet and ORMap.
// A key whose store becomes empty disappears.
//
// Representation: a map with one key (the delta of an add, of a remove, of one update) keeps it
// inline, with no hashing and no allocation; from the second key on, the entries live in an
// absl::flat_hash_set of (key, store) nodes, allocated then: entries in one array, so a walk over
// them (encoding a state) reads memory in order. Iteration gives (key, store) pairs of references,
// in no particular order. Adding a key may move the others (a rehash); references to entries last
// until the next key is added.
//
// Cost: joining a delta costs in proportion to the delta. To find the local keys that a small
// remote context removes dots from, the map keeps an index dot -> key, built on the first join
// that needs it and maintained from then on, until a rehash moves the keys it points to (a
// value that is only mutated locally never pays for it; growth rebuilds it O(log n) times). A join
// whose context holds more dots than the map holds keys scans the keys instead.
//
// Thread safety: none; owned by one CRDT value.
#pragma once

// First: absl's hash set includes absl::InlinedVector, which must come through this header.
#include "convergent/crdt/inlined_vector.h"
// clang-format off
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>
// clang-format on

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"

namespace convergent {

template <typename K, typename S>
class DotMap {
  // An entry of the hash map. The map is a hash set of nodes found by key, so that it moves
  // entries when it grows (a pair<const K, S> would be copied, key and all); the store is mutable
  // because a set gives its elements as const, and only the key decides where a node lives.
  struct Node {
    template <typename Key>
    explicit Node(Key&& k) : key(std::forward<Key>(k)) {}
    Node(K&& k, S&& s) : key(std::move(k)), store(std::move(s)) {}
    K key;
    mutable S store;
  };
  struct NodeHash {
    using is_transparent = void;
    size_t operator()(const K& k) const { return absl::Hash<K>()(k); }
    size_t operator()(const Node& n) const { return (*this)(n.key); }
  };
  struct NodeEq {
    using is_transparent = void;
    static const K& KeyOf(const K& k) { return k; }
    static const K& KeyOf(const Node& n) { return n.key; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) == KeyOf(b);
    }
  };
  using Map = absl::flat_hash_set<Node, NodeHash, NodeEq>;

 public:
  using value_type = std::pair<const K&, const S&>;  // what iteration gives, by value

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = DotMap::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    const_iterator() = default;
    value_type operator*() const {
      return one_ != nullptr ? value_type(one_->first, one_->second)
                             : value_type(it_->key, it_->store);
    }
    const_iterator& operator++() {
      if (one_ != nullptr) {
        one_ = nullptr;  // no hash map entries while an entry is inline: it_ is end()
      } else {
        ++it_;
      }
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class DotMap;
    const_iterator(const std::pair<K, S>* one, typename Map::const_iterator it)
        : one_(one), it_(it) {}
    const std::pair<K, S>* one_ = nullptr;
    typename Map::const_iterator it_;
  };

  // The entries, as a range.
  class Entries {
   public:
    const_iterator begin() const { return m_->begin(); }
    const_iterator end() const { return m_->end(); }
    size_t size() const { return m_->size(); }

   private:
    friend class DotMap;
    explicit Entries(const DotMap* m) : m_(m) {}
    const DotMap* m_;
  };

  DotMap() = default;
  DotMap(const DotMap& o) : one_(o.one_) {  // the index is rebuilt on demand
    if (o.map_ && !o.map_->empty()) map_ = std::make_unique<Map>(*o.map_);
  }
  DotMap& operator=(const DotMap& o) {
    if (this != &o) *this = DotMap(o);
    return *this;
  }
  // A move keeps the index only when it points into the hash map's nodes, which move along.
  DotMap(DotMap&& o) noexcept
      : one_(std::move(o.one_)), map_(std::move(o.map_)), index_(std::move(o.index_)) {
    if (one_) index_.reset();
    o.one_.reset();
  }
  DotMap& operator=(DotMap&& o) noexcept {
    if (this != &o) {
      one_ = std::move(o.one_);
      map_ = std::move(o.map_);
      index_ = std::move(o.index_);
      if (one_) index_.reset();
      o.one_.reset();
    }
    return *this;
  }

  bool empty() const { return size() == 0; }
  size_t size() const { return one_ ? 1 : map_ ? map_->size() : 0; }
  const_iterator begin() const {
    if (one_) return const_iterator(&*one_, {});
    return map_ ? const_iterator(nullptr, map_->begin()) : end();
  }
  const_iterator end() const {
    return map_ ? const_iterator(nullptr, map_->end()) : const_iterator(nullptr, {});
  }
  Entries entries() const { return Entries(this); }
  const S* Find(const K& k) const {
    if (one_) return one_->first == k ? &one_->second : nullptr;
    if (!map_) return nullptr;
    auto it = map_->find(k);
    return it == map_->end() ? nullptr : &it->store;
  }

  // Mutation by a CRDT type: `fn(S&, const K&)` changes the store of `k` (created if absent) and
  // reports dots it adds/removes through the returned Tracker, so the index stays right.
  class Tracker {
   public:
    void Added(const Dot& d) {
      if (map_->index_) (*map_->index_)[d] = key_;
    }
    void Removed(const Dot& d) {
      if (map_->index_) map_->index_->erase(d);
    }

   private:
    friend class DotMap;
    Tracker(DotMap* m, const K* k) : map_(m), key_(k) {}
    DotMap* map_;
    const K* key_;
  };

  template <typename Fn>
  void Mutate(K k, Fn&& fn) {
    Slot e = FindOrAdd(std::move(k)).first;
    Tracker t(this, e.key);
    fn(*e.store, t);
    if (e.store->empty()) Erase(*e.key);
  }
  template <typename Fn>
  void MutateExisting(const K& k, Fn&& fn) {
    Slot e = FindSlot(k);
    if (e.store == nullptr) return;
    Tracker t(this, e.key);
    fn(*e.store, t);
    if (e.store->empty()) Erase(*e.key);
  }
  void Clear() {
    one_.reset();
    map_.reset();
    index_.reset();
  }

  // Inserts a decoded entry; false if its key is there already or its store is empty (corrupt
  // input).
  bool InsertDecoded(K k, S s) {
    if (s.empty()) return false;
    if (empty()) {  // the first entry, built in place
      one_.emplace(std::move(k), std::move(s));
      index_.reset();
      return true;
    }
    auto [e, inserted] = FindOrAdd(std::move(k));
    if (!inserted) return false;
    *e.store = std::move(s);
    index_.reset();
    return true;
  }
  // True when no dot appears under two keys. Builds the index.
  bool DotsAreUnique() {
    size_t dots = 0;
    ForEachDot([&](const Dot&) { ++dots; });
    BuildIndex();
    return index_->size() == dots;
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
    if (other_ctx.DotCount() <= size()) {
      std::vector<K> touched;  // copies: an entry may be erased while a later dot names it
      other_ctx.ForEachDot([&](const Dot& d) {
        if (seen != nullptr && !seen->Contains(d)) return;
        if (!index_) BuildIndex();
        auto it = index_->find(d);
        if (it != index_->end()) touched.push_back(*it->second);
      });
      for (const K& k : touched) DropRemovedAt(k, other, other_ctx, on_drop);
    } else {
      std::vector<const K*> keys;
      keys.reserve(size());
      for (const auto& kv : *this) keys.push_back(&kv.first);
      for (const K* k : keys) DropRemovedAt(*k, other, other_ctx, on_drop);
    }
  }
  // Phase 2 of the join: adds the dots of `other` that ctx (this side's context) has not seen.
  template <typename OnAdd>
  void AddUnseen(const DotMap& other, const CausalContext& ctx, OnAdd&& on_add) {
    for (const auto& [k, os] : other) {
      Slot e = FindOrAdd(k).first;
      Tracker t(this, e.key);
      e.store->AddUnseen(os, ctx, [&](const Dot& d) {
        t.Added(d);
        on_add(d);
      });
      if (e.store->empty()) Erase(*e.key);
    }
  }
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const auto& kv : *this) kv.second.ForEachDot(fn);
  }

  // Equal entries, whatever their representation.
  friend bool operator==(const DotMap& a, const DotMap& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, s] : a) {
      const S* other = b.Find(k);
      if (other == nullptr || !(*other == s)) return false;
    }
    return true;
  }

 private:
  // An entry's key and store, or nulls.
  struct Slot {
    const K* key = nullptr;
    S* store = nullptr;
  };
  Slot FindSlot(const K& k) {
    if (one_) return one_->first == k ? Slot{&one_->first, &one_->second} : Slot{};
    if (!map_) return Slot{};
    auto it = map_->find(k);
    return it == map_->end() ? Slot{} : Slot{&it->key, &it->store};
  }
  // The entry of k, created empty if absent (then true). A second key moves the inline entry
  // into the hash map, which invalidates the index's key pointers.
  // k: a K or a const K& (copied only when added).
  template <typename Key>
  std::pair<Slot, bool> FindOrAdd(Key&& k) {
    if (one_) {
      if (one_->first == k) return {Slot{&one_->first, &one_->second}, false};
      if (!map_) map_ = std::make_unique<Map>();
      map_->emplace(std::move(one_->first), std::move(one_->second));
      one_.reset();
      index_.reset();
    } else if (!map_ || map_->empty()) {
      one_.emplace(std::piecewise_construct, std::forward_as_tuple(std::forward<Key>(k)),
                   std::tuple<>());
      return {Slot{&one_->first, &one_->second}, true};
    }
    const size_t capacity = map_->capacity();
    bool inserted = false;
    auto it = map_->lazy_emplace(k, [&](const auto& construct) {
      inserted = true;
      construct(std::forward<Key>(k));
    });
    if (map_->capacity() != capacity) index_.reset();  // a rehash moved the keys
    return {Slot{&it->key, &it->store}, inserted};
  }
  void Erase(const K& k) {  // k may be the entry's own key
    if (one_) {
      one_.reset();
    } else {
      map_->erase(map_->find(k));
    }
  }

  template <typename OnDrop>
  void DropRemovedAt(const K& k, const DotMap* other, const CausalContext& other_ctx,
                     OnDrop& on_drop) {
    Slot e = FindSlot(k);
    if (e.store == nullptr) return;  // already emptied through an earlier dot
    const S* os = other != nullptr ? other->Find(k) : nullptr;
    e.store->DropRemoved(os, other_ctx, [&](const Dot& d) {
      if (index_) index_->erase(d);
      on_drop(d);
    });
    if (e.store->empty()) Erase(*e.key);
  }
  void BuildIndex() {
    index_ = std::make_unique<Index>();
    index_->reserve(size());
    for (const auto& kv : *this) {
      kv.second.ForEachDot([&](const Dot& d) { (*index_)[d] = &kv.first; });
    }
  }

  using Index = std::unordered_map<Dot, const K*>;

  // The entries: one inline, or (never both) any number in the hash map. Empty maps own nothing.
  std::optional<std::pair<K, S>> one_;
  std::unique_ptr<Map> map_;
  std::unique_ptr<Index> index_;  // dot -> key; null until a join needs it
};

}  // namespace convergent
