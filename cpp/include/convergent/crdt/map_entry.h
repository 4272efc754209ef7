// MapEntry: the value of one key of an ORMap, as a dot store that shares the map's causal
// context, so that removing a key removes exactly what the remover observed (an update that the
// remove did not see survives: keys are add-wins).
//
// Each nestable CRDT type has a causal embedding:
//   GCounter, PNCounter  a counter store: each replica's total under its latest dot
//   LWWRegister          a register store: concurrent writes kept, the greatest
//                        (timestamp, replica, value) is read
//   MVRegister           a multi-value store: dot -> value
//   ORSet, GSet          a set store: element -> dots
//   Flag                 a dot set: enabled while it holds a dot
// An entry is the product of one store per type: replicas that concurrently write a key as
// different types both keep their part (a lattice needs no winner), readers see the part of the
// greatest type tag, and the next local update of the key clears the parts of other types.
//
// Thread safety: none; owned by one ORMap.
#pragma once

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <tuple>
#include <variant>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/ids.h"
#include "convergent/value.h"

namespace convergent {

struct CounterPayload {
  uint64_t increments = 0;
  uint64_t decrements = 0;
  friend bool operator==(const CounterPayload&, const CounterPayload&) = default;
};

struct RegisterPayload {
  uint64_t timestamp = 0;
  ReplicaId replica;
  Value value;
  friend bool operator==(const RegisterPayload&, const RegisterPayload&) = default;
  // The LWW order: timestamp, then replica id, then value bytes.
  friend auto operator<=>(const RegisterPayload& a, const RegisterPayload& b) {
    return std::tie(a.timestamp, a.replica, a.value) <=> std::tie(b.timestamp, b.replica, b.value);
  }
};

using CounterStore = DotFun<CounterPayload>;
using RegisterStore = DotFun<RegisterPayload>;
using MultiValueStore = DotFun<Value>;
using SetStore = DotMap<Value, DotSet>;
using FlagStore = DotSet;

// True for the types an ORMap can hold as values.
bool IsNestable(CrdtType t);

class MapEntry {
 public:
  using Store = std::variant<CounterStore, RegisterStore, MultiValueStore, SetStore, FlagStore>;
  struct Part {
    CrdtType type;
    Store store;
    friend bool operator==(const Part&, const Part&) = default;
  };
  using Parts = boost::container::small_vector<Part, 1>;  // sorted by type, none empty

  bool empty() const { return parts_.empty(); }
  const Parts& parts() const { return parts_; }
  // The type readers see: the greatest type among the parts. Requires !empty().
  CrdtType type() const { return parts_.back().type; }
  const Part* Find(CrdtType t) const;
  // The part of type t, created empty if absent (the caller must fill it or call Prune).
  Part& FindOrAdd(CrdtType t);
  // Removes the parts whose store is empty.
  void Prune();
  // An update or remove that observed these parts: removes every part whose type is not `keep`
  // (all parts for std::nullopt), recording their dots in delta_ctx and calling on_removed(dot).
  template <typename OnRemoved>
  void TakePartsExcept(std::optional<CrdtType> keep, CausalContext& delta_ctx,
                       OnRemoved&& on_removed) {
    auto kept = std::remove_if(parts_.begin(), parts_.end(), [&](const Part& p) {
      if (keep && p.type == *keep) return false;
      std::visit(
          [&](const auto& s) {
            s.ForEachDot([&](const Dot& d) {
              delta_ctx.Insert(d);
              on_removed(d);
            });
          },
          p.store);
      return true;
    });
    parts_.erase(kept, parts_.end());
  }

  // The dot-store interface (see DotMap).
  template <typename Fn>
  void ForEachDot(Fn&& fn) const {
    for (const Part& p : parts_) std::visit([&](const auto& s) { s.ForEachDot(fn); }, p.store);
  }
  template <typename Keep>
  MapEntry Filtered(Keep&& keep) const {
    MapEntry out;
    for (const Part& p : parts_) {
      std::visit(
          [&](const auto& s) {
            auto part = s.Filtered(keep);
            if (!part.empty()) out.parts_.push_back(Part{p.type, std::move(part)});
          },
          p.store);
    }
    return out;
  }
  template <typename OnDrop>
  void DropRemoved(const MapEntry* other, const CausalContext& other_ctx, OnDrop&& on_drop) {
    for (Part& p : parts_) {
      const Part* op = other != nullptr ? other->Find(p.type) : nullptr;
      std::visit(
          [&](auto& s) {
            using S = std::decay_t<decltype(s)>;
            s.DropRemoved(op != nullptr ? &std::get<S>(op->store) : nullptr, other_ctx, on_drop);
          },
          p.store);
    }
    Prune();
  }
  template <typename OnAdd>
  void AddUnseen(const MapEntry& other, const CausalContext& ctx, OnAdd&& on_add) {
    for (const Part& op : other.parts_) {
      Part& p = FindOrAdd(op.type);
      std::visit(
          [&](auto& s) {
            using S = std::decay_t<decltype(s)>;
            s.AddUnseen(std::get<S>(op.store), ctx, on_add);
          },
          p.store);
    }
    Prune();
  }

  friend bool operator==(const MapEntry&, const MapEntry&) = default;

 private:
  Parts parts_;
};

}  // namespace convergent
