// AnyCrdt: a value of any of the replicated types, tagged with its CrdtType, for the places that
// hold values of many types side by side (the replicator's key store, snapshots, the wire).
// Joining two AnyCrdt of different types is a TypeMismatch error that changes nothing.
//
// Thread safety: none; a plain value.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "convergent/crdt/crdt_type.h"
#include "convergent/crdt/flag.h"
#include "convergent/crdt/gcounter.h"
#include "convergent/crdt/gset.h"
#include "convergent/crdt/lww_map.h"
#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/mv_register.h"
#include "convergent/crdt/ormap.h"
#include "convergent/crdt/ormultimap.h"
#include "convergent/crdt/orset.h"
#include "convergent/crdt/pncounter_map.h"
#include "convergent/crdt/pruning.h"
#include "convergent/status.h"

namespace convergent {

// Box<T>: a T on the heap with value semantics (a copy copies the T). AnyCrdt keeps the large
// CRDTs (sets, maps, multi-value registers) boxed, so that a store of small values (counters,
// registers, flags) does not pay for the largest type in every entry.
template <typename T>
class Box {
 public:
  Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT(runtime/explicit)
  Box(const Box& o) : p_(std::make_unique<T>(*o.p_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    p_ = std::make_unique<T>(*o.p_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  friend bool operator==(const Box& a, const Box& b) { return *a.p_ == *b.p_; }

 private:
  std::unique_ptr<T> p_;
};

class AnyCrdt {
 public:
  // How a T is held: inline up to the size of a PNCounter, boxed above.
  template <typename T>
  using Stored = std::conditional_t<(sizeof(T) > sizeof(PNCounter)), Box<T>, T>;
  // One alternative per type of AllCrdtTypes, in CrdtType order.
  template <typename... Ts>
  static std::variant<Stored<Ts>...> VariantOf(CrdtTypeList<Ts...>);
  using Variant = decltype(VariantOf(AllCrdtTypes{}));

  AnyCrdt() = default;  // an empty GCounter
  template <typename T>
  requires requires { CrdtTypeOf<T>::value; }
  AnyCrdt(T value) : v_(Stored<T>(std::move(value))) {}  // NOLINT(runtime/explicit)
  // The bottom (empty) value of a type; InvalidArgument for an unknown type number.
  static Result<AnyCrdt> Empty(CrdtType type);

  CrdtType type() const;
  // Calls f(value) with the value as its own type (T& or const T&), and returns what f returns.
  template <typename F>
  decltype(auto) Visit(F&& f) {
    return std::visit([&](auto& x) -> decltype(auto) { return f(Unbox(x)); }, v_);
  }
  template <typename F>
  decltype(auto) Visit(F&& f) const {
    return std::visit([&](const auto& x) -> decltype(auto) { return f(Unbox(x)); }, v_);
  }
  template <typename T>
  const T* get_if() const {
    const Stored<T>* s = std::get_if<Stored<T>>(&v_);
    return s == nullptr ? nullptr : &Unbox(*s);
  }
  template <typename T>
  T* get_if() {
    Stored<T>* s = std::get_if<Stored<T>>(&v_);
    return s == nullptr ? nullptr : &Unbox(*s);
  }

  // Joins other into this; TypeMismatch (nothing changes) when the types differ.
  Status Join(const AnyCrdt& other);
  // True when a reader sees the same value in both (the states may still differ, e.g. an element
  // removed and added again has new dots); false for different types.
  bool SameValue(const AnyCrdt& other) const;

  // The causal types (ORSet, MVRegister and the maps: a dot store with a causal context): the
  // value's context, and what a replica whose context is `seen` lacks of it
  // (convergent/crdt/delta_since.h). nullptr and nullopt for the other types; DeltaSince is
  // also nullopt when listing what was removed would cost more than the whole value.
  const CausalContext* Context() const;
  std::optional<AnyCrdt> DeltaSince(const CausalContext& seen) const;

  // Removed-replica pruning (convergent/crdt/pruning.h). Types that hold no per-replica state
  // that grows with incarnations (LWWRegister, Flag, GSet) never need it.
  bool NeedsPruningFrom(ReplicaId removed) const;
  // The replicas whose slots or dots the value holds, ascending (empty for the types above).
  std::vector<ReplicaId> ModifiedBy() const;
  // At the pruning node; nullopt (nothing changed) when the type must wait.
  std::optional<PruningRecord> Prune(ReplicaId removed, ReplicaId into);
  void PruningCleanup(const PruningRecord& p);

  friend bool operator==(const AnyCrdt&, const AnyCrdt&) = default;

 private:
  template <typename T>
  static T& Unbox(T& x) {
    return x;
  }
  template <typename T>
  static T& Unbox(Box<T>& x) {
    return *x;
  }
  template <typename T>
  static const T& Unbox(const Box<T>& x) {
    return *x;
  }

  Variant v_;
};

// Calls f(std::type_identity<T>{}) with the C++ type T of `type` and returns its result, or
// `otherwise()` for a number that is no type (both must return the same type). Every per-type
// dispatch goes through it: the types are listed once, in AllCrdtTypes.
template <typename F, typename G>
auto VisitCrdtType(CrdtType type, F&& f, G&& otherwise) -> decltype(otherwise()) {
  return [&]<typename... Ts>(CrdtTypeList<Ts...>) -> decltype(otherwise()) {
    std::optional<decltype(otherwise())> r;
    static_cast<void>(
        ((CrdtTypeOf<Ts>::value == type ? (r.emplace(f(std::type_identity<Ts>{})), true) : false) ||
         ...));
    return r ? std::move(*r) : otherwise();
  }(AllCrdtTypes{});
}

}  // namespace convergent
