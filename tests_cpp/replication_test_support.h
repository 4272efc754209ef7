// Test-only support for the replication tests (replicator_test.cc, simulation_test.cc): the
// Replicator::Mutation of each CRDT operation the tests use, and a gtest printer for AnyCrdt.
// A mutation changes the key's value in place and returns its delta, as the Replicator expects;
// the Replicator hands it a value of the key's type, so the casts below cannot fail.
//
// Thread safety: none; each test builds its own objects.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "convergent/codec.h"
#include "convergent/crdt/any_crdt.h"
#include "convergent/ids.h"
#include "convergent/replicator.h"
#include "convergent/value.h"

namespace convergent::test {

template <typename T, typename Fn>
Replicator::Mutation Mutate(Fn fn) {
  return [fn = std::move(fn)](AnyCrdt& v) -> Result<AnyCrdt> {
    T* t = v.get_if<T>();
    if (t == nullptr) return Status::TypeMismatch("the test mutation got another type");
    return AnyCrdt(fn(*t));
  };
}

inline Replicator::Mutation GIncrement(ReplicaId r, uint64_t n = 1) {
  return Mutate<GCounter>([=](GCounter& c) { return c.Increment(r, n); });
}
// n < 0 decrements.
inline Replicator::Mutation PNAdd(ReplicaId r, int64_t n) {
  return Mutate<PNCounter>([=](PNCounter& c) {
    return n >= 0 ? c.Increment(r, static_cast<uint64_t>(n))
                  : c.Decrement(r, static_cast<uint64_t>(-n));
  });
}
inline Replicator::Mutation LWWSet(ReplicaId r, Value v, uint64_t clock) {
  return Mutate<LWWRegister>([=](LWWRegister& x) { return x.Set(r, v, clock); });
}
inline Replicator::Mutation SetAdd(ReplicaId r, Value v) {
  return Mutate<ORSet>([=](ORSet& s) { return s.Add(r, v); });
}
inline Replicator::Mutation SetRemove(Value v) {
  return Mutate<ORSet>([=](ORSet& s) { return s.Remove(v); });
}
inline Replicator::Mutation FlagEnable() {
  return Mutate<Flag>([](Flag& f) { return f.Enable(); });
}
inline Replicator::Mutation MVSet(ReplicaId r, Value v) {
  return Mutate<MVRegister>([=](MVRegister& x) { return x.Set(r, v); });
}
inline Replicator::Mutation GSetAdd(Value v) {
  return Mutate<GSet>([=](GSet& s) { return s.Add(v); });
}
// ORMap: a PNCounter or an ORSet under a map key.
inline Replicator::Mutation MapIncrement(ReplicaId r, Value key, int64_t n) {
  return [=](AnyCrdt& v) -> Result<AnyCrdt> {
    auto d = v.get_if<ORMap>()->Increment(r, key, n, CrdtType::kPNCounter);
    if (!d.ok()) return d.status();
    return AnyCrdt(std::move(d).value());
  };
}
inline Replicator::Mutation MapAddElement(ReplicaId r, Value key, Value element) {
  return [=](AnyCrdt& v) -> Result<AnyCrdt> {
    auto d = v.get_if<ORMap>()->AddElement(r, key, element, CrdtType::kORSet);
    if (!d.ok()) return d.status();
    return AnyCrdt(std::move(d).value());
  };
}
inline Replicator::Mutation MapRemoveElement(Value key, Value element) {
  return [=](AnyCrdt& v) -> Result<AnyCrdt> {
    auto d = v.get_if<ORMap>()->RemoveElement(key, element);
    if (!d.ok()) return d.status();
    return AnyCrdt(std::move(d).value());
  };
}
inline Replicator::Mutation LWWMapPut(ReplicaId r, Value key, Value v, uint64_t clock) {
  return Mutate<LWWMap>([=](LWWMap& m) { return m.Put(r, key, v, clock); });
}
inline Replicator::Mutation PNMapAdd(ReplicaId r, Value key, int64_t n) {
  return Mutate<PNCounterMap>([=](PNCounterMap& m) { return m.Increment(r, key, n); });
}
inline Replicator::Mutation MultiMapAdd(ReplicaId r, Value key, Value v) {
  return Mutate<ORMultiMap>([=](ORMultiMap& m) { return m.Add(r, key, v); });
}
inline Replicator::Mutation MultiMapRemove(Value key, Value v) {
  return Mutate<ORMultiMap>([=](ORMultiMap& m) { return m.Remove(key, v); });
}

}  // namespace convergent::test

namespace convergent {

// Prints the type and the size of the encoding (the bytes themselves are not readable).
inline void PrintTo(const AnyCrdt& v, std::ostream* os) {
  *os << CrdtTypeName(v.type()) << "(" << EncodeAny(v).size() << " bytes)";
}

}  // namespace convergent
