// Test-only support for the replication tests (replicator_test.cc, simulation_test.cc, ...): the
// Replicator::Mutation of each CRDT operation the tests use, a gtest printer for AnyCrdt, and a
// Cluster of Replicators whose frames the test carries by hand.
// A mutation changes the key's value in place and returns its delta, as the Replicator expects;
// the Replicator hands it a value of the key's type, so the casts below cannot fail.
//
// Thread safety: none; each test builds its own objects.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

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
// A GCounter key on one replicator: its count (0: absent), whether it is live, and a local
// increment (false when the update fails).
inline uint64_t GCount(Replicator& r, const std::string& key) {
  auto v = r.Get(key, CrdtType::kGCounter);
  return v.ok() && *v != nullptr ? (*v)->get_if<GCounter>()->value() : 0;
}
inline bool GLive(Replicator& r, const std::string& key) {
  auto v = r.Get(key, CrdtType::kGCounter);
  return v.ok() && *v != nullptr;
}
inline bool GAdd(Replicator& r, const std::string& key, uint64_t n, TimeMicros now) {
  return r.Update(key, CrdtType::kGCounter, GIncrement(r.replica_id(), n), Consistency::kLocal, now)
      .ok();
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

// A frame taken from a replicator's outputs, with its sender.
struct Sent {
  NodeId from;
  OutgoingFrame frame;
};

// Replicators 0..n-1 that all peer with each other; the test carries their frames.
class ReplicatorCluster {
 public:
  explicit ReplicatorCluster(int n, ReplicatorOptions options = Options()) {
    std::vector<NodeId> ids;
    for (int i = 0; i < n; ++i) ids.push_back(i);
    for (int i = 0; i < n; ++i) {
      nodes_.push_back(std::make_unique<Replicator>(i, ReplicaId{1000u + i}, options, 7 + i));
      nodes_.back()->SetPeers(ids);
      nodes_.back()->Tick(0);  // starts its timers
    }
  }

  static ReplicatorOptions Options() {
    ReplicatorOptions o;
    o.anti_entropy_interval = 10.0;
    o.delta_flush_interval = 0.1;
    o.coordination_timeout = 1.0;
    return o;
  }

  Replicator& operator[](NodeId i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }

  // Takes every node's pending frames.
  std::vector<Sent> Take() {
    std::vector<Sent> out;
    for (NodeId i = 0; i < nodes_.size(); ++i) {
      for (OutgoingFrame& f : nodes_[i]->TakeOutgoing()) out.push_back({i, std::move(f)});
    }
    return out;
  }

  // Delivers one frame to its receivers (a broadcast to every peer of the sender) that `keep`
  // lets through.
  using Filter = std::function<bool(NodeId from, NodeId to, FrameKind kind)>;
  void Deliver(const Sent& s, TimeMicros now, const Filter& keep = nullptr) {
    for (NodeId to = 0; to < nodes_.size(); ++to) {
      if (to == s.from || (s.frame.to && *s.frame.to != to)) continue;
      if (keep && !keep(s.from, to, s.frame.kind)) continue;
      nodes_[to]->Receive(s.frame.bytes, now);
    }
  }

  // Delivers frames, and the frames they cause, until none is left; returns how many.
  size_t Pump(TimeMicros now, const Filter& keep = nullptr) {
    size_t delivered = 0;
    for (std::vector<Sent> batch = Take(); !batch.empty(); batch = Take()) {
      for (const Sent& s : batch) Deliver(s, now, keep);
      delivered += batch.size();
    }
    return delivered;
  }

  void TickAll(TimeMicros now) {
    for (auto& n : nodes_) n->Tick(now);
  }

  // Tells every node that the members are these nodes' replicas (what a node's membership does).
  void SetMembers() {
    std::vector<ReplicaId> replicas;
    for (auto& n : nodes_) replicas.push_back(n->replica_id());
    std::sort(replicas.begin(), replicas.end());
    for (auto& n : nodes_) n->SetMemberReplicas(replicas);
  }

  // Ticks and pumps every `step` from `from` to `to`; returns `to`.
  TimeMicros Run(TimeMicros from, TimeMicros to, TimeMicros step, const Filter& keep = nullptr) {
    for (TimeMicros t = from; t <= to; t += step) {
      TickAll(t);
      Pump(t, keep);
    }
    return to;
  }

  // Replaces node i by a new incarnation (another replica id) with the given options.
  Replicator& Replace(NodeId i, ReplicaId replica, ReplicatorOptions options) {
    std::vector<NodeId> ids;
    for (NodeId j = 0; j < nodes_.size(); ++j) ids.push_back(j);
    nodes_[i] = std::make_unique<Replicator>(i, replica, options, 77 + i);
    nodes_[i]->SetPeers(ids);
    return *nodes_[i];
  }

 private:
  std::vector<std::unique_ptr<Replicator>> nodes_;
};

}  // namespace convergent::test

namespace convergent {

// Prints the type and the size of the encoding (the bytes themselves are not readable).
inline void PrintTo(const AnyCrdt& v, std::ostream* os) {
  *os << CrdtTypeName(v.type()) << "(" << EncodeAny(v).size() << " bytes)";
}

}  // namespace convergent
