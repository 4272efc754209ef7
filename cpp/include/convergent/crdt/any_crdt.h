// AnyCrdt: a value of any of the replicated types, tagged with its CrdtType, for the places that
// hold values of many types side by side (the replicator's key store, snapshots, the wire).
// Joining two AnyCrdt of different types is a TypeMismatch error that changes nothing.
//
// Thread safety: none; a plain value.
#pragma once

#include <string>
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
#include "convergent/status.h"

namespace convergent {

class AnyCrdt {
 public:
  using Variant = std::variant<GCounter, PNCounter, LWWRegister, ORSet, ORMap, Flag, MVRegister,
                               GSet, LWWMap, PNCounterMap, ORMultiMap>;

  AnyCrdt() = default;  // an empty GCounter
  template <typename T>
    requires requires { CrdtTypeOf<T>::value; }
  AnyCrdt(T value) : v_(std::move(value)) {}  // NOLINT(runtime/explicit)
  // The bottom (empty) value of a type; InvalidArgument for an unknown type number.
  static Result<AnyCrdt> Empty(CrdtType type);

  CrdtType type() const;
  const Variant& variant() const { return v_; }
  Variant& variant() { return v_; }
  template <typename T>
  const T* get_if() const {
    return std::get_if<T>(&v_);
  }
  template <typename T>
  T* get_if() {
    return std::get_if<T>(&v_);
  }

  // Joins other into this; TypeMismatch (nothing changes) when the types differ.
  Status Join(const AnyCrdt& other);
  // True when a reader sees the same value in both (the states may still differ, e.g. an element
  // removed and added again has new dots); false for different types.
  bool SameValue(const AnyCrdt& other) const;

  friend bool operator==(const AnyCrdt&, const AnyCrdt&) = default;

 private:
  Variant v_;
};

}  // namespace convergent
