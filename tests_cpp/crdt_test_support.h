// Test-only support for the CRDT tests: small value and replica domains (so operations collide),
// a seeded random source whose seed can be replayed, one CrdtTraits<T> per CRDT type (a random
// mutation returning its delta, the observable value), gtest printers for the CRDT types, and a
// Cluster of replicas that records every delta it produces.
//
// Adding a CRDT type to the property tests: specialise CrdtTraits<T> below (a few lines: Mutate
// and Read), add a PrintTo for it, and list it in the CrdtTypes of crdt_laws_test.cc.
//
// Thread safety: none; each test builds its own objects.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/crdt/flag.h"
#include "convergent/crdt/gcounter.h"
#include "convergent/crdt/gset.h"
#include "convergent/crdt/lww_map.h"
#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/map_entry.h"
#include "convergent/crdt/mv_register.h"
#include "convergent/crdt/ormap.h"
#include "convergent/crdt/ormultimap.h"
#include "convergent/crdt/orset.h"
#include "convergent/crdt/pncounter_map.h"
#include "convergent/ids.h"
#include "convergent/value.h"

namespace convergent {

// ---- gtest printers (found by argument-dependent lookup) ----

inline void PrintTo(const Value& v, std::ostream* os) {
  static const char kHex[] = "0123456789abcdef";
  *os << "v'";
  for (unsigned char c : v.bytes()) *os << kHex[c >> 4] << kHex[c & 15];
  *os << "'";
}
inline void PrintTo(const ReplicaId& r, std::ostream* os) { *os << r.ToString(); }
inline void PrintTo(const Dot& d, std::ostream* os) {
  PrintTo(d.replica, os);
  *os << ":" << d.counter;
}
inline void PrintTo(const CausalContext& c, std::ostream* os) {
  *os << "ctx{vv[";
  for (const auto& [r, n] : c.version_vector()) {
    PrintTo(r, os);
    *os << "=" << n << " ";
  }
  *os << "] cloud[";
  for (const Dot& d : c.dot_cloud()) {
    PrintTo(d, os);
    *os << " ";
  }
  *os << "]}";
}
template <typename T>
void PrintTo(const DotFun<T>& f, std::ostream* os) {
  *os << "{";
  for (const auto& e : f) {
    PrintTo(e.dot, os);
    if constexpr (!std::is_same_v<T, Unit>) {
      *os << "->";
      PrintTo(e.value, os);
    }
    *os << " ";
  }
  *os << "}";
}
template <typename K, typename S>
void PrintTo(const DotMap<K, S>& m, std::ostream* os) {
  std::vector<const K*> keys;
  for (const auto& kv : m.entries()) keys.push_back(&kv.first);
  std::sort(keys.begin(), keys.end(), [](const K* a, const K* b) { return *a < *b; });
  *os << "{";
  for (const K* k : keys) {
    PrintTo(*k, os);
    *os << ":";
    PrintTo(*m.Find(*k), os);
    *os << " ";
  }
  *os << "}";
}
inline void PrintTo(const GCounter& c, std::ostream* os) {
  *os << "GCounter{";
  for (const auto& [r, n] : c.slots()) {
    PrintTo(r, os);
    *os << "=" << n << " ";
  }
  *os << "}";
}
inline void PrintTo(const PNCounter& c, std::ostream* os) {
  *os << "PNCounter{+";
  PrintTo(c.increments(), os);
  *os << " -";
  PrintTo(c.decrements(), os);
  *os << "}";
}
inline void PrintTo(const LWWRegister& r, std::ostream* os) {
  *os << "LWWRegister{ts=" << r.timestamp() << " by ";
  PrintTo(r.replica(), os);
  *os << " ";
  PrintTo(r.value(), os);
  *os << "}";
}
inline void PrintTo(const GSet& s, std::ostream* os) {
  *os << "GSet{";
  for (const Value& v : s.Elements()) {
    PrintTo(v, os);
    *os << " ";
  }
  *os << "}";
}
inline void PrintTo(const Flag& f, std::ostream* os) {
  *os << (f.enabled() ? "Flag{on}" : "Flag{off}");
}
inline void PrintTo(const ORSet& s, std::ostream* os) {
  *os << "ORSet{";
  PrintTo(s.store(), os);
  *os << " ";
  PrintTo(s.context(), os);
  *os << "}";
}
inline void PrintTo(const MVRegister& r, std::ostream* os) {
  *os << "MVRegister{";
  PrintTo(r.store(), os);
  *os << " ";
  PrintTo(r.context(), os);
  *os << "}";
}
inline void PrintTo(const CounterPayload& p, std::ostream* os) {
  *os << "+" << p.increments << "-" << p.decrements;
}
inline void PrintTo(const RegisterPayload& p, std::ostream* os) {
  *os << "(ts=" << p.timestamp << " by ";
  PrintTo(p.replica, os);
  *os << " ";
  PrintTo(p.value, os);
  *os << ")";
}
inline void PrintTo(const MapEntry& e, std::ostream* os) {
  for (const auto& part : e.parts()) {
    *os << CrdtTypeName(part.type) << "=";
    std::visit([&](const auto& store) { PrintTo(store, os); }, part.store);
    *os << " ";
  }
}
inline void PrintTo(const ORMap& m, std::ostream* os) {
  *os << "ORMap{";
  PrintTo(m.store(), os);
  *os << " ";
  PrintTo(m.context(), os);
  *os << "}";
}
inline void PrintTo(const LWWMap& m, std::ostream* os) { PrintTo(m.map(), os); }
inline void PrintTo(const PNCounterMap& m, std::ostream* os) { PrintTo(m.map(), os); }
inline void PrintTo(const ORMultiMap& m, std::ostream* os) { PrintTo(m.map(), os); }

namespace test {

using Rng = std::mt19937_64;

// Integer from the environment, or `fallback` when unset or unparsable.
inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 0);
  return *end == '\0' ? static_cast<uint64_t>(v) : fallback;
}

// Seed of the first trial of every seeded loop; CONVERGENT_TEST_SEED replays another one.
inline uint64_t BaseSeed() { return EnvOr("CONVERGENT_TEST_SEED", 0x5eed'c0de'2024ull); }
// Number of trials of a seeded loop; CONVERGENT_TEST_TRIALS overrides every loop's default.
inline int Trials(int fallback) {
  return static_cast<int>(EnvOr("CONVERGENT_TEST_TRIALS", static_cast<uint64_t>(fallback)));
}

// Runs fn(rng, trial) for `trials` seeds (BaseSeed() + trial), tracing the seed so any failure
// says how to replay it, and stops at the first failing trial.
template <typename Fn>
void ForEachSeed(int trials, Fn&& fn) {
  const uint64_t base = BaseSeed();
  for (int t = 0; t < Trials(trials); ++t) {
    const uint64_t seed = base + static_cast<uint64_t>(t);
    SCOPED_TRACE("seed=" + std::to_string(seed) + " (replay: CONVERGENT_TEST_SEED=" +
                 std::to_string(seed) + " CONVERGENT_TEST_TRIALS=1)");
    Rng rng(seed);
    fn(rng, t);
    if (::testing::Test::HasFailure()) return;
  }
}

// Uniform in [lo, hi]; modulo keeps sequences identical across standard libraries.
inline uint64_t Uniform(Rng& rng, uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); }
inline bool Chance(Rng& rng, int percent) { return Uniform(rng, 0, 99) < uint64_t(percent); }
template <typename C>
const auto& Pick(Rng& rng, const C& c) {
  return c[Uniform(rng, 0, c.size() - 1)];
}

// The canonical msgpack encoding of an unsigned integer (smallest form), as a Value.
inline Value UintValue(uint64_t i) {
  std::string b;
  auto big_endian = [&](uint8_t tag, int bytes) {
    b.push_back(static_cast<char>(tag));
    for (int k = bytes - 1; k >= 0; --k) b.push_back(static_cast<char>((i >> (8 * k)) & 0xff));
  };
  if (i < 0x80) {
    b.push_back(static_cast<char>(i));
  } else if (i <= 0xff) {
    big_endian(0xcc, 1);
  } else if (i <= 0xffff) {
    big_endian(0xcd, 2);
  } else if (i <= 0xffffffffull) {
    big_endian(0xce, 4);
  } else {
    big_endian(0xcf, 8);
  }
  return Value::FromCanonical(std::move(b));
}

// The small element domain of the random tests: few values (adds and removes collide), encodings
// of different lengths (byte order is not numeric order).
inline Value RandomElement(Rng& rng) {
  static const uint64_t kDomain[] = {0, 1, 2, 200, 70000};
  return UintValue(kDomain[Uniform(rng, 0, std::size(kDomain) - 1)]);
}

// Replica ids with no relation between their order and their index.
inline ReplicaId TestReplica(size_t i) {
  return ReplicaId::FromName("replica-" + std::to_string(i));
}

// ---- Per-type traits: a random mutation returning its delta, and the observable value ----

template <typename T>
struct CrdtTraits;

template <>
struct CrdtTraits<GCounter> {
  static constexpr const char* kName = "GCounter";
  static GCounter Mutate(GCounter& s, ReplicaId r, Rng& rng) {
    return s.Increment(r, Uniform(rng, 0, 5));
  }
  static uint64_t Read(const GCounter& s) { return s.value(); }
};

template <>
struct CrdtTraits<PNCounter> {
  static constexpr const char* kName = "PNCounter";
  static PNCounter Mutate(PNCounter& s, ReplicaId r, Rng& rng) {
    const uint64_t n = Uniform(rng, 0, 5);
    return Chance(rng, 50) ? s.Increment(r, n) : s.Decrement(r, n);
  }
  static int64_t Read(const PNCounter& s) { return s.value(); }
};

template <>
struct CrdtTraits<LWWRegister> {
  static constexpr const char* kName = "LWWRegister";
  // Clocks in a small range: they stall, go back and collide across replicas.
  static LWWRegister Mutate(LWWRegister& s, ReplicaId r, Rng& rng) {
    const uint64_t clock = Uniform(rng, 0, 12);
    return s.Set(r, RandomElement(rng), clock);
  }
  static Value Read(const LWWRegister& s) { return s.value(); }
};

template <>
struct CrdtTraits<GSet> {
  static constexpr const char* kName = "GSet";
  static GSet Mutate(GSet& s, ReplicaId, Rng& rng) { return s.Add(RandomElement(rng)); }
  static std::vector<Value> Read(const GSet& s) { return s.Elements(); }
};

template <>
struct CrdtTraits<Flag> {
  static constexpr const char* kName = "Flag";
  static Flag Mutate(Flag& s, ReplicaId, Rng&) { return s.Enable(); }
  static bool Read(const Flag& s) { return s.enabled(); }
};

template <>
struct CrdtTraits<ORSet> {
  static constexpr const char* kName = "ORSet";
  static ORSet Mutate(ORSet& s, ReplicaId r, Rng& rng) {
    const uint64_t op = Uniform(rng, 0, 99);
    if (op < 55) return s.Add(r, RandomElement(rng));
    if (op < 92) return s.Remove(RandomElement(rng));
    return s.Clear();
  }
  static std::vector<Value> Read(const ORSet& s) { return s.Elements(); }
};

template <>
struct CrdtTraits<MVRegister> {
  static constexpr const char* kName = "MVRegister";
  static MVRegister Mutate(MVRegister& s, ReplicaId r, Rng& rng) {
    return s.Set(r, RandomElement(rng));
  }
  static std::vector<Value> Read(const MVRegister& s) { return s.Values(); }
};

// The small key domain of the map types.
inline Value RandomKey(Rng& rng) { return UintValue(Uniform(rng, 100, 102)); }
inline int64_t RandomAmount(Rng& rng) { return static_cast<int64_t>(Uniform(rng, 0, 6)) - 3; }

// Every operation an ORMap offers, on a small key domain, with values of every nestable type, so
// that concurrent updates of one key with different types happen. An update refused locally
// (another type is visible under the key) changes nothing: its delta is the empty map.
template <>
struct CrdtTraits<ORMap> {
  static constexpr const char* kName = "ORMap";
  static ORMap Mutate(ORMap& s, ReplicaId r, Rng& rng) {
    const Value key = RandomKey(rng);
    Result<ORMap> d = ORMap();
    switch (Uniform(rng, 0, 10)) {
      case 0:
        d = s.Increment(r, key, RandomAmount(rng), CrdtType::kPNCounter);
        break;
      case 1:
        d = s.Increment(r, key, RandomAmount(rng) + 3, CrdtType::kGCounter);
        break;
      case 2:
        d = s.SetRegister(r, key, RandomElement(rng), Uniform(rng, 0, 12));
        break;
      case 3:
        d = s.SetMultiValue(r, key, RandomElement(rng));
        break;
      case 4:
        d = s.AddElement(r, key, RandomElement(rng), CrdtType::kORSet);
        break;
      case 5:
        d = s.RemoveElement(key, RandomElement(rng));
        break;
      case 6:
        d = s.ClearSet(key);
        break;
      case 7:
        d = s.AddElement(r, key, RandomElement(rng), CrdtType::kGSet);
        break;
      case 8:
        d = s.EnableFlag(r, key);
        break;
      default:
        d = s.Remove(key);
        break;
    }
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kTypeMismatch) << d.status().ToString();
      return ORMap();
    }
    return std::move(d).value();
  }
  // Each key with the type readers see and that value, rendered.
  static std::vector<std::pair<Value, std::string>> Read(const ORMap& s) {
    std::vector<std::pair<Value, std::string>> out;
    for (const Value& k : s.Keys()) {
      std::string v = CrdtTypeName(*s.TypeOf(k));
      if (auto c = s.GetPNCounter(k)) v += ::testing::PrintToString(c->value());
      if (auto c = s.GetGCounter(k)) v += ::testing::PrintToString(c->value());
      if (auto r = s.GetLWWRegister(k)) v += ::testing::PrintToString(r->value());
      if (auto r = s.GetMVRegister(k)) v += ::testing::PrintToString(r->Values());
      if (auto x = s.GetORSet(k)) v += ::testing::PrintToString(x->Elements());
      if (auto x = s.GetGSet(k)) v += ::testing::PrintToString(x->Elements());
      if (auto f = s.GetFlag(k)) v += f->enabled() ? "on" : "off";
      out.emplace_back(k, std::move(v));
    }
    return out;
  }
};

template <>
struct CrdtTraits<LWWMap> {
  static constexpr const char* kName = "LWWMap";
  static LWWMap Mutate(LWWMap& s, ReplicaId r, Rng& rng) {
    const Value key = RandomKey(rng);
    if (Chance(rng, 25)) return s.Remove(key);
    return s.Put(r, key, RandomElement(rng), Uniform(rng, 0, 12));
  }
  static std::vector<std::pair<Value, Value>> Read(const LWWMap& s) {
    std::vector<std::pair<Value, Value>> out;
    for (const Value& k : s.Keys()) out.emplace_back(k, *s.Get(k));
    return out;
  }
};

template <>
struct CrdtTraits<PNCounterMap> {
  static constexpr const char* kName = "PNCounterMap";
  static PNCounterMap Mutate(PNCounterMap& s, ReplicaId r, Rng& rng) {
    const Value key = RandomKey(rng);
    if (Chance(rng, 20)) return s.Remove(key);
    return s.Increment(r, key, RandomAmount(rng));
  }
  static std::vector<std::pair<Value, int64_t>> Read(const PNCounterMap& s) {
    std::vector<std::pair<Value, int64_t>> out;
    for (const Value& k : s.Keys()) out.emplace_back(k, *s.Get(k));
    return out;
  }
};

template <>
struct CrdtTraits<ORMultiMap> {
  static constexpr const char* kName = "ORMultiMap";
  static ORMultiMap Mutate(ORMultiMap& s, ReplicaId r, Rng& rng) {
    const Value key = RandomKey(rng);
    const uint64_t op = Uniform(rng, 0, 99);
    if (op < 55) return s.Add(r, key, RandomElement(rng));
    if (op < 90) return s.Remove(key, RandomElement(rng));
    return s.RemoveKey(key);
  }
  static std::vector<std::pair<Value, std::vector<Value>>> Read(const ORMultiMap& s) {
    std::vector<std::pair<Value, std::vector<Value>>> out;
    for (const Value& k : s.Keys()) out.emplace_back(k, s.Get(k));
    return out;
  }
};

// a joined with b, as a new value.
template <typename T>
T Joined(T a, const T& b) {
  a.Join(b);
  return a;
}

// ---- A cluster of replicas of one CRDT value, driven by a seeded random source ----

template <typename T>
class Cluster {
 public:
  struct Produced {
    size_t replica;
    T delta;
  };

  Cluster(size_t replicas, Rng& rng) : rng_(rng) {
    for (size_t i = 0; i < replicas; ++i) ids_.push_back(TestReplica(i));
    states_.resize(replicas);
  }

  size_t size() const { return states_.size(); }
  ReplicaId id(size_t i) const { return ids_[i]; }
  const T& state(size_t i) const { return states_[i]; }
  const std::vector<T>& states() const { return states_; }
  // Every delta produced so far, in production order.
  const std::vector<Produced>& log() const { return log_; }

  // Applies a random operation of the type at replica i, records and returns its delta.
  T Mutate(size_t i) {
    T delta = CrdtTraits<T>::Mutate(states_[i], ids_[i], rng_);
    log_.push_back({i, delta});
    return delta;
  }
  void Receive(size_t i, const T& x) { states_[i].Join(x); }

  // One random step: usually a mutation; otherwise a recorded delta (any, so possibly stale,
  // duplicated or out of causal order) or a full state delivered to a replica. The replica
  // `frozen` (if < size()) is left untouched.
  void RandomStep(size_t frozen = SIZE_MAX) {
    const size_t i = OtherThan(frozen);
    const uint64_t what = Uniform(rng_, 0, 99);
    if (what < 60 || log_.empty()) {
      Mutate(i);
    } else if (what < 85) {
      Receive(i, Pick(rng_, log_).delta);
    } else {
      Receive(i, states_[Uniform(rng_, 0, size() - 1)]);
    }
  }
  void RunRandom(int steps, size_t frozen = SIZE_MAX) {
    for (int s = 0; s < steps; ++s) RandomStep(frozen);
  }

  // Operands for the algebraic laws: every replica state, some recorded deltas, and bottom.
  std::vector<T> Operands(size_t deltas) const {
    std::vector<T> out = states_;
    for (size_t k = 0; k < deltas && !log_.empty(); ++k) out.push_back(Pick(rng_, log_).delta);
    out.push_back(T{});
    return out;
  }

 private:
  size_t OtherThan(size_t frozen) {
    for (;;) {
      const size_t i = Uniform(rng_, 0, size() - 1);
      if (i != frozen || size() == 1) return i;
    }
  }

  Rng& rng_;
  std::vector<ReplicaId> ids_;
  std::vector<T> states_;
  std::vector<Produced> log_;
};

// A cluster of 3-5 replicas after `lo`..`hi` random steps.
template <typename T>
Cluster<T> RandomCluster(Rng& rng, int lo, int hi) {
  Cluster<T> c(Uniform(rng, 3, 5), rng);
  c.RunRandom(static_cast<int>(Uniform(rng, lo, hi)));
  return c;
}

}  // namespace test
}  // namespace convergent
