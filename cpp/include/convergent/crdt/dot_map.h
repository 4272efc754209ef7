// DotMap<K, S>: a map from keys to nested dot stores (DotFun, or anything with the same join
// interface: empty(), ForEachDot, Filtered, DropRemoved, AddUnseen, which DotMap itself also
// offers), the dot store behind ORSet and ORMap.
// A key whose store becomes empty disappears.
//
// Representation: a map with one key (the delta of an add, of a remove, of one update) keeps it
// inline, with no hashing and no allocation. From the second key on, the entries live in one
// dense array of (key, store) nodes, found through a hash index of 8-byte slots (an entry's
// position and its key's hash): about 50 + 9..18 bytes per set element of up to 23 bytes, and a
// walk over the entries (encoding a state) reads memory in order. A removed entry leaves a hole
// that the next new key fills; once holes are half the array, the entries are moved together.
// Iteration gives (key, store) pairs of references, in no particular order; references to
// entries last until the next change.
//
// Cost: joining a delta costs in proportion to the delta. To find the local keys that a small
// remote context removes dots from, the map keeps an index dot -> position, built on the first
// join with a context much smaller than the map (a remote remove) and maintained from then on:
// a value that is only mutated locally, or only receives adds and full states, never pays for
// it. Other joins scan the keys.
//
// Thread safety: none; owned by one CRDT value.
#pragma once

// First: absl's hash set includes absl::InlinedVector, which must come through this header.
#include "convergent/crdt/inlined_vector.h"
// clang-format off
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>
// clang-format on

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_marks.h"
#include "convergent/ids.h"

namespace convergent {

template <typename K, typename S>
class DotMap {
  // An entry, or a hole (an empty store: entries never have one between operations).
  struct Node {
    Node() = default;
    template <typename Key>
    requires std::is_constructible_v<K, Key&&>
    explicit Node(Key&& k) : key(std::forward<Key>(k)) {}
    Node(K&& k, S&& s) : key(std::move(k)), store(std::move(s)) {}
    K key;
    S store;
  };
  // A slot of the key index: an entry's position among the nodes and its key's hash, kept so
  // that growing the index reads no node and most mismatches are told without one.
  struct KeySlot {
    mutable uint32_t pos;
    uint32_t hash;
  };
  // A lookup of `key`, whose hash is `hash`, among `nodes`: the index's hash and equality need
  // no state of their own, so the index moves with its map.
  struct KeyProbe {
    const K& key;
    uint32_t hash;
    const std::vector<Node>& nodes;
  };
  struct KeySlotHash {
    using is_transparent = void;
    // The 32 bits spread over the word, so that indexes of more than 2^25 slots use them all.
    static size_t Spread(uint32_t h) { return size_t{h} * 0x9E3779B97F4A7C15ull; }
    size_t operator()(const KeySlot& s) const { return Spread(s.hash); }
    size_t operator()(const KeyProbe& p) const { return Spread(p.hash); }
  };
  struct KeySlotEq {
    using is_transparent = void;
    bool operator()(const KeySlot& a, const KeySlot& b) const { return a.pos == b.pos; }
    bool operator()(const KeyProbe& p, const KeySlot& s) const {
      return s.hash == p.hash && p.nodes[s.pos].key == p.key;
    }
    bool operator()(const KeySlot& s, const KeyProbe& p) const { return (*this)(p, s); }
  };
  struct Table {
    std::vector<Node> nodes;
    absl::flat_hash_set<KeySlot, KeySlotHash, KeySlotEq> keys;
    std::vector<uint32_t> holes;  // positions of removed entries, reused first
  };
  static uint32_t HashOf(const K& k) { return static_cast<uint32_t>(absl::Hash<K>()(k)); }

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
                             : value_type(node_->key, node_->store);
    }
    const_iterator& operator++() {
      if (one_ != nullptr) {
        one_ = nullptr;  // no nodes while an entry is inline: node_ is the end
      } else {
        ++node_;
        SkipHoles();
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
    const_iterator(const std::pair<K, S>* one, const Node* node, const Node* end)
        : one_(one), node_(node), end_(end) {
      SkipHoles();
    }
    void SkipHoles() {
      while (node_ != end_ && node_->store.empty()) ++node_;
    }
    const std::pair<K, S>* one_ = nullptr;
    const Node* node_ = nullptr;
    const Node* end_ = nullptr;
  };

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
  DotMap(const DotMap& o) : one_(o.one_) {  // the dot index is rebuilt on demand
    if (o.table_ && !o.table_->nodes.empty()) table_ = std::make_unique<Table>(*o.table_);
  }
  DotMap& operator=(const DotMap& o) {
    if (this != &o) *this = DotMap(o);
    return *this;
  }
  DotMap(DotMap&& o) noexcept
      : one_(std::move(o.one_)), table_(std::move(o.table_)), index_(std::move(o.index_)) {
    o.one_.reset();
  }
  DotMap& operator=(DotMap&& o) noexcept {
    if (this != &o) {
      one_ = std::move(o.one_);
      table_ = std::move(o.table_);
      index_ = std::move(o.index_);
      o.one_.reset();
    }
    return *this;
  }

  bool empty() const { return size() == 0; }
  size_t size() const {
    return one_ ? 1 : table_ ? table_->nodes.size() - table_->holes.size() : 0;
  }
  const_iterator begin() const {
    const Node* end_node = table_ ? EndNode() : nullptr;  // a table is empty while one_ is set
    if (one_) return const_iterator(&*one_, end_node, end_node);
    return table_ ? const_iterator(nullptr, table_->nodes.data(), end_node) : end();
  }
  const_iterator end() const {
    return table_ ? const_iterator(nullptr, EndNode(), EndNode())
                  : const_iterator(nullptr, nullptr, nullptr);
  }
  Entries entries() const { return Entries(this); }
  // The entries by position, for an encoder that sorts positions rather than copies of the
  // entries: ForEachAt calls fn(position, key, store) for each entry, in memory order, and
  // At(position) gives it back. Positions last until the next change.
  template <typename Fn>
  void ForEachAt(Fn&& fn) const {
    if (one_) {
      fn(uint32_t{0}, one_->first, one_->second);
    } else if (table_) {
      const auto& nodes = table_->nodes;
      for (uint32_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i].store.empty()) fn(i, nodes[i].key, nodes[i].store);
      }
    }
  }
  value_type At(uint32_t position) const {
    if (one_) return value_type(one_->first, one_->second);
    const Node& n = table_->nodes[position];
    return value_type(n.key, n.store);
  }
  bool has_dot_index() const { return index_ != nullptr; }  // for tests
  const S* Find(const K& k) const {
    if (one_) return one_->first == k ? &one_->second : nullptr;
    const size_t pos = PositionOf(k);
    return pos == kNone ? nullptr : &table_->nodes[pos].store;
  }
  // Room for n entries without moving them (a decoder that knows its count).
  void Reserve(size_t n) {
    if (n < 2) return;
    if (!table_) table_ = std::make_unique<Table>();
    table_->nodes.reserve(n);
    table_->keys.reserve(n);
  }

  // Mutation by a CRDT type: `fn(S&, const K&)` changes the store of `k` (created if absent) and
  // reports dots it adds/removes through the returned Tracker, so the index stays right.
  class Tracker {
   public:
    void Added(const Dot& d) {
      if (map_->index_) (*map_->index_)[d] = pos_;
    }
    void Removed(const Dot& d) {
      if (map_->index_) map_->index_->erase(d);
    }

   private:
    friend class DotMap;
    Tracker(DotMap* m, uint32_t pos) : map_(m), pos_(pos) {}
    DotMap* map_;
    uint32_t pos_;
  };

  template <typename Fn>
  void Mutate(K k, Fn&& fn) {
    Slot e = FindOrAdd(std::move(k)).first;
    Tracker t(this, e.pos);
    fn(*e.store, t);
    if (e.store->empty()) Erase(e.pos, e.hash);
    MaybeCompact();
  }
  template <typename Fn>
  void MutateExisting(const K& k, Fn&& fn) {
    if (one_) {
      if (!(one_->first == k)) return;
      Tracker t(this, kOne);
      fn(one_->second, t);
      if (one_->second.empty()) one_.reset();
      return;
    }
    if (!table_ || table_->nodes.empty()) return;
    auto& keys = table_->keys;
    auto it = keys.find(KeyProbe{k, HashOf(k), table_->nodes});
    if (it == keys.end()) return;
    const uint32_t pos = it->pos;
    S& store = table_->nodes[pos].store;
    Tracker t(this, pos);
    fn(store, t);
    if (store.empty()) {
      keys.erase(it);  // nothing was added since the find: the iterator holds
      MakeHole(pos);
      MaybeCompact();
    }
  }
  void Clear() {
    one_.reset();
    table_.reset();
    index_.reset();
  }

  // Inserts a decoded entry; false if its key is there already or its store is empty (corrupt
  // input).
  bool InsertDecoded(K k, S s) {
    if (s.empty()) return false;
    if (!table_ && !one_) {  // the first entry, built in place
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
  // True when no dot appears under two keys. ctx is the store's context (convergent/crdt/
  // dot_marks.h: it only makes the check cheaper).
  bool DotsAreUnique(const CausalContext& ctx) const {
    DotMarks marks(ctx, size());
    bool unique = true;
    ForEachDot([&](const Dot& d) { unique = marks.Mark(d) && unique; });
    return unique && marks.RestIsUnique();
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
    if (one_) {
      DropRemovedAt(kOne, other, other_ctx, on_drop);
    } else if (UseIndexFor(other_ctx.DotCount())) {
      std::vector<K>
          touched;  // copies: an entry may be erased, or moved, while a later dot names it
      other_ctx.ForEachDot([&](const Dot& d) {
        if (seen != nullptr && !seen->Contains(d)) return;
        if (!index_) BuildIndex();
        auto it = index_->find(d);
        if (it != index_->end()) touched.push_back(table_->nodes[it->second].key);
      });
      for (const K& k : touched) {
        const size_t pos = PositionOf(k);
        if (pos != kNone) DropRemovedAt(pos, other, other_ctx, on_drop);
      }
    } else if (table_) {
      for (size_t pos = 0; pos < table_->nodes.size(); ++pos) {
        if (!table_->nodes[pos].store.empty()) DropRemovedAt(pos, other, other_ctx, on_drop);
      }
    }
    MaybeCompact();
  }
  // Phase 2 of the join: adds the dots of `other` that ctx (this side's context) has not seen.
  template <typename OnAdd>
  void AddUnseen(const DotMap& other, const CausalContext& ctx, OnAdd&& on_add) {
    for (const auto& [k, os] : other) {
      Slot e = FindOrAdd(k).first;
      Tracker t(this, e.pos);
      e.store->AddUnseen(os, ctx, [&](const Dot& d) {
        t.Added(d);
        on_add(d);
      });
      if (e.store->empty()) Erase(e.pos, e.hash);
    }
    MaybeCompact();
  }
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const auto& kv : *this) kv.second.ForEachDot(fn);
  }
  // A copy of the entries, each with only the dots that keep(dot) keeps (an entry left with none
  // is left out); keep is called once for every dot.
  template <typename Keep>
  DotMap Filtered(Keep&& keep) const {
    DotMap out;
    for (const auto& [k, s] : *this) {
      S part = s.Filtered(keep);
      if (!part.empty()) out.InsertDecoded(k, std::move(part));
    }
    return out;
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
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint32_t kOne = 0;  // the position of the inline entry
  // An entry's store and position (kOne for the inline entry), or a null store.
  struct Slot {
    S* store = nullptr;
    uint32_t pos = 0;
    uint32_t hash = 0;  // its key's (not for the inline entry)
  };
  // Whether a join whose context holds `dots` dots finds the entries they remove through the dot
  // index rather than by a scan. Building the index costs about a scan and keeps ~50 bytes per
  // entry, so it is built only for a context much smaller than the map: a small delta, likely
  // one of many (a full state, which covers every local dot, is joined by a scan).
  bool UseIndexFor(size_t dots) const {
    return index_ ? dots <= size() : dots * kDotsPerIndexBuild <= size();
  }
  static constexpr size_t kDotsPerIndexBuild = 8;
  size_t PositionOf(const K& k) const {
    if (!table_ || table_->nodes.empty()) return kNone;
    auto it = table_->keys.find(KeyProbe{k, HashOf(k), table_->nodes});
    return it == table_->keys.end() ? kNone : it->pos;
  }
  S& StoreAt(uint32_t pos) { return one_ ? one_->second : table_->nodes[pos].store; }
  const Node* EndNode() const { return table_->nodes.data() + table_->nodes.size(); }
  // Puts a node in a hole, or after the others, and its slot in the key index.
  template <typename Key, typename... Store>
  uint32_t Append(uint32_t hash, Key&& k, Store&&... s) {
    uint32_t pos;
    if (!table_->holes.empty()) {
      pos = table_->holes.back();
      table_->holes.pop_back();
      table_->nodes[pos] = Node(std::forward<Key>(k), std::forward<Store>(s)...);
    } else {
      pos = static_cast<uint32_t>(table_->nodes.size());
      table_->nodes.emplace_back(std::forward<Key>(k), std::forward<Store>(s)...);
    }
    table_->keys.insert(KeySlot{pos, hash});
    return pos;
  }
  // The entry of k, created empty if absent (then true). The first key of a map that never had a
  // table is inline; a second one moves it into the table (the dot index, never built while an
  // entry is inline, starts empty).
  // k: a K or a const K& (copied only when added).
  template <typename Key>
  std::pair<Slot, bool> FindOrAdd(Key&& k) {
    if (one_) {
      if (one_->first == k) return {Slot{&one_->second, kOne}, false};
      if (!table_) table_ = std::make_unique<Table>();
      const uint32_t h = HashOf(one_->first);
      Append(h, std::move(one_->first), std::move(one_->second));
      one_.reset();
      index_.reset();
    } else if (!table_ || table_->nodes.capacity() == 0) {
      one_.emplace(std::piecewise_construct, std::forward_as_tuple(std::forward<Key>(k)),
                   std::tuple<>());
      return {Slot{&one_->second, kOne}, true};
    }
    const uint32_t h = HashOf(k);
    auto it = table_->keys.find(KeyProbe{k, h, table_->nodes});
    if (it != table_->keys.end()) {
      return {Slot{&table_->nodes[it->pos].store, it->pos, h}, false};
    }
    const uint32_t pos = Append(h, std::forward<Key>(k));
    return {Slot{&table_->nodes[pos].store, pos, h}, true};
  }
  // Removes the entry at pos (kOne: the inline one), whose store is empty and whose dots are no
  // longer indexed: it becomes a hole.
  // hash: its key's, when the caller has it.
  void Erase(uint32_t pos, std::optional<uint32_t> hash = std::nullopt) {
    if (one_) {
      one_.reset();
      return;
    }
    const K& key = table_->nodes[pos].key;
    table_->keys.erase(KeyProbe{key, hash ? *hash : HashOf(key), table_->nodes});
    MakeHole(pos);
  }
  void MakeHole(uint32_t pos) {
    table_->nodes[pos].key = K();  // its memory goes now
    table_->holes.push_back(pos);
  }
  // Closes the holes once they are half of the nodes or more: the entries move to the front, in
  // order, and both indexes learn their new positions in one pass each (no hashing). Called at
  // the end of each public change, so that positions hold within one.
  void MaybeCompact() {
    if (!table_ || table_->holes.size() < 16 || table_->holes.size() * 2 < table_->nodes.size()) {
      return;
    }
    auto& nodes = table_->nodes;
    std::vector<uint32_t> moved_to(nodes.size());
    uint32_t kept = 0;
    for (uint32_t pos = 0; pos < nodes.size(); ++pos) {
      if (nodes[pos].store.empty()) continue;
      moved_to[pos] = kept;
      if (pos != kept) nodes[kept] = std::move(nodes[pos]);
      ++kept;
    }
    nodes.resize(kept);
    if (nodes.capacity() > 2 * static_cast<size_t>(kept)) nodes.shrink_to_fit();
    table_->holes = {};
    for (const KeySlot& slot : table_->keys) slot.pos = moved_to[slot.pos];
    if (index_) {
      for (auto& [dot, pos] : *index_) pos = moved_to[pos];
    }
  }

  template <typename OnDrop>
  void DropRemovedAt(size_t pos, const DotMap* other, const CausalContext& other_ctx,
                     OnDrop& on_drop) {
    const auto p = static_cast<uint32_t>(pos);
    S& store = StoreAt(p);
    const K& key = one_ ? one_->first : table_->nodes[p].key;
    const S* os = other != nullptr ? other->Find(key) : nullptr;
    store.DropRemoved(os, other_ctx, [&](const Dot& d) {
      if (index_) index_->erase(d);
      on_drop(d);
    });
    if (store.empty()) Erase(p);
  }
  void BuildIndex() {
    index_ = std::make_unique<Index>();
    if (!table_) return;
    index_->reserve(size());
    for (uint32_t pos = 0; pos < table_->nodes.size(); ++pos) {  // holes have no dots
      table_->nodes[pos].store.ForEachDot([&](const Dot& d) { (*index_)[d] = pos; });
    }
  }

  struct DotHash {
    size_t operator()(const Dot& d) const { return absl::HashOf(d.replica.value, d.counter); }
  };
  using Index = absl::flat_hash_map<Dot, uint32_t, DotHash>;

  // The entries: one inline, or (never both) any number in the table. A new map owns nothing;
  // once it has a table (a second key, or a decoder's Reserve), its entries stay there.
  std::optional<std::pair<K, S>> one_;
  std::unique_ptr<Table> table_;
  std::unique_ptr<Index> index_;  // dot -> position; null until a join needs it
};

}  // namespace convergent
