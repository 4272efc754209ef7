// ChaosRun: one seeded chaos run of a simulated cluster, shared by the chaos tests
// (simulation_test.cc) and the soak program (benchmarks/soak.cc). A script of random operations
// (Local, Majority and All writes, deletes, coordinated reads) on every CRDT type from random
// nodes while the network loses (10-30%; links up to 90% both ways or cut one way), duplicates
// and reorders frames, partitions and heals, and nodes crash and restart (and one may join or
// leave); then Settle() heals everything and runs to convergence, and Check() compares the
// replicas with each other and with the oracles below. Every node runs the whole node core
// (membership by heartbeats, loss detection, snapshots): crashed nodes restart from their snapshot,
// which may have lost its last write or hold a damaged record, and wall clocks step by up to an
// hour either way (LWW writes take the writer's wall clock). Violations are collected as readable
// lines, not asserted, so that the same code serves gtest and a plain program.
//
// The oracles. Nodes 0..S-1 are "stable" (never crash); the others, fewer than half of the
// members, crash and restart at random (in one run of five, every node but node 0 may crash,
// a majority at once: acknowledgements are then not counted as promises of survival). A Majority
// (or All) ack means that a majority of the members applied the write, and a majority always
// includes a stable node, which keeps it forever: an acknowledged write can never be lost. A write
// survives too when its incarnation (node and ReplicaId) is alive at the end, since that replica
// still holds it. Writes of incarnations that crashed (or left) without an ack may or may not have
// escaped before.
//
//   counters (GCounter, PNCounter, PNCounterMap, a counter in an ORMap): each replica slot of
//     the final value is one of the prefix sums of that incarnation's increments (so never a
//     duplicate, never a phantom); exactly its total for a live incarnation; at least the sum up
//     to its last acknowledged increment otherwise.
//   LWWRegister, LWWMap: the final register is one of the writes, and at least (by timestamp,
//     replica, value, compared here, not by the library's Join) every write that must survive.
//   no false acknowledgement: the moment a Majority/All counter write completes, at least
//     floor(N/2)+1 (All: N) live replicas hold it (checked when no node crashed meanwhile).
//   coordinated reads: a Majority/All read of a counter returns every increment acknowledged
//     (Majority/All) before it was issued (majorities intersect; checked when no node crashed or
//     left since that acknowledgement).
//   completions: a coordinated request ends ok or by timeout; a key deleted is an answer only for
//     the deletable keys; any other error is a failure.
//   ORSet, ORMultiMap, a set in an ORMap: each element has one writer, a stable node, so its
//     operations are sequential: it is present exactly when its last operation was an add.
//   "cset", an ORSet, and "cmm", an ORMultiMap, that every node adds to, removes from and
//     clears (cmm: removes map keys), crashable ones too: by dots, no dot nobody added, none that a
//     surviving operation replaced (an add replaces the element's dots its node held, a remove or a
//     clear deletes them), and every dot of a surviving add that nothing replaced.
//   Flag, GSet: what must survive is there; nothing that was never written is.
//   MVRegister: a write replaces the values in its writer's store: no value beside one that
//     replaced it, every write that must survive there unless a write replaced it, nothing never
//     written.
//   deletable keys: a delete issued by a stable node, or acknowledged, is a tombstone on every
//     replica; a key never deleted is not.
//
// Thread safety: none; one run per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "convergent/simulation.h"
#include "replication_test_support.h"
#include "sim/sim_env.h"

namespace convergent::test {

// Replicator options of the chaos runs: short intervals, so that a run takes a few virtual
// seconds.
inline ReplicatorOptions ChaosReplicatorOptions() {
  ReplicatorOptions o;
  o.anti_entropy_interval = 0.5;
  o.delta_flush_interval = 0.1;
  o.coordination_timeout = 1.0;
  return o;
}

// Every live node holds the same keys with the same values and tombstones; the differences
// found, as lines.
inline std::vector<std::string> CompareReplicas(Simulation& sim) {
  std::vector<std::string> diffs;
  const std::vector<NodeId> live = sim.live_nodes();
  if (live.empty()) return {"no live node"};
  Replicator& first = sim.node(live[0]);
  const auto keys = first.Keys();
  for (NodeId n : live) {
    Replicator& r = sim.node(n);
    const std::string who = "node " + std::to_string(n) + " vs node " + std::to_string(live[0]);
    if (r.StoreDigest() != first.StoreDigest()) diffs.push_back(who + ": store digests differ");
    if (r.tombstone_count() != first.tombstone_count()) {
      diffs.push_back(who + ": tombstone counts differ");
    }
    if (r.Keys() != keys) {
      diffs.push_back(who + ": key lists differ");
      continue;
    }
    for (const auto& [key, type] : keys) {
      auto mine = r.Get(key, type);
      auto theirs = first.Get(key, type);
      if (!mine.ok() || !theirs.ok() || *mine == nullptr || *theirs == nullptr) {
        diffs.push_back(who + ": key " + key + " is not readable");
      } else if (!(**mine == **theirs) || EncodeAny(**mine) != EncodeAny(**theirs)) {
        diffs.push_back(who + ": key " + key + " differs");
      }
    }
  }
  return diffs;
}

class ChaosRun {
 public:
  explicit ChaosRun(uint64_t seed)
      : seed_(seed),
        rng_(seed * 0x9E3779B97F4A7C15ull + 1),
        nodes_(3 + seed % 3),
        majority_crashes_(seed % 5 == 3),
        prunes_(seed % 2 == 0),
        collects_(seed % 3 == 0),
        stable_(majority_crashes_ ? 1 : nodes_ - (nodes_ - 1) / 2),
        ids_(nodes_) {
    SimulationOptions o;
    o.nodes = static_cast<int>(nodes_);
    o.seed = seed;
    o.replicator = ChaosReplicatorOptions();
    // Some runs with small frames and deltas: batches and repairs split, deltas sent whole.
    if (seed % 4 == 1) o.replicator.max_frame_size = 2048;
    if (seed % 3 == 2) o.replicator.max_delta_size = 48;
    // Half the runs prune the replicas of restarted nodes as they go (markers outlive the run,
    // and every wall-clock step: a clock stepped forward by more than the markers' time to live
    // makes a recent snapshot look stale, which costs the writes only it held; see
    // docs/concepts.md, "Removed replicas").
    if (prunes_) {
      o.replicator.pruning_interval = 0.3;
      o.replicator.max_pruning_dissemination = 0.5;
      o.replicator.pruning_marker_ttl = 100000.0;
    }
    // A third of the runs collect tombstones as they go (once every member has them).
    if (collects_) {
      o.replicator.prune_interval = 0.5;
      o.replicator.tombstone_ttl = 1.0;
    }
    o.node.heartbeat_interval = 0.1;
    o.node.failure_timeout = 0.5;
    o.node.snapshot_dir = "sim";
    o.node.snapshot_interval = 0.2;
    sim_ = std::make_unique<Simulation>(o);
    sim_->ObserveCompletions([this](NodeId n, const Completion& c) { OnCompletion(n, c); });
  }

  Simulation& sim() { return *sim_; }
  uint64_t seed() const { return seed_; }
  const std::vector<std::string>& failures() const { return failures_; }
  // Virtual seconds from the heal to convergence (nullopt: none).
  std::optional<double> converged_after() const { return converged_after_; }
  // Coordinated writes whose acknowledgement was checked against the replicas at that moment.
  uint64_t acks_checked() const { return acks_checked_; }
  // Coordinated reads checked to return every write acknowledged before them.
  uint64_t reads_checked() const { return reads_checked_; }
  // Crashes that left no live majority of the members.
  uint64_t majority_down() const { return majority_down_; }

  void Script(int operations) {
    Ok(sim_->SetLoss(Uniform(0.1, 0.3)));
    Ok(sim_->SetDuplication(0.05));
    Ok(sim_->SetLatency(0.004, 0.0035));  // delays of 0.5-7.5 ms: frames overtake each other
    for (int i = 0; i < operations; ++i) {
      Fault();
      Operation();
      sim_->RunFor(Uniform(0.0, 0.04));
    }
  }

  // Heals everything, restarts the crashed nodes and runs until the replicas agree; then lets
  // every coordinated request finish and takes their outcomes.
  void Settle() {
    sim_->Heal();
    sim_->ResetLinks();
    Ok(sim_->SetLoss(0));
    for (NodeId n : sim_->members()) {
      if (!sim_->IsLive(n)) {
        ++crashes_;
        DamageSnapshot(n);
        sim_->Restart(n);
      }
    }
    converged_after_ = sim_->RunUntilConverged(120.0);
    if (!converged_after_) Fail("did not converge within 120 virtual seconds");
    if (prunes_) {
      // The prunings of the replicas removed by the last restarts run on after the values agree
      // (markers spread, owners prune, records spread): they finish, and the replicas agree again.
      sim_->RunFor(15.0);
      if (!sim_->RunUntilConverged(120.0)) Fail("did not converge again after the prunings");
    }
    if (collects_) {
      // Every tombstone goes once every member has it (adverts every anti-entropy round, a
      // pass every 0.5 s, 1 s under the floor), at slightly different times on each replica.
      sim_->RunFor(10.0);
      if (!sim_->RunUntilConverged(120.0)) Fail("did not converge again after the collections");
      // (Not checked after a node left: its goodbye may be lost, and a member that is never
      // heard again blocks collection, as it should.)
      for (NodeId n : sim_->live_nodes()) {
        if (!removed_ && sim_->node(n).tombstone_count() != 0) {
          Fail("node " + std::to_string(n) + " still holds " +
               std::to_string(sim_->node(n).tombstone_count()) + " tombstone(s)");
        }
      }
    }
    sim_->RunFor(1.0);  // every coordinated request completes or times out (timeouts <= 1 s)
    if (!sim_->Converged()) Fail("diverged again after converging");
    for (NodeId n = 0; n < ids_; ++n) {
      for (const Completion& c : sim_->TakeCompletions(n)) {
        if (!c.status.ok()) continue;
        auto it = on_ack_.find({n, c.id});
        if (it != on_ack_.end()) it->second();
      }
    }
  }

  void Check() {
    for (std::string& d : CompareReplicas(*sim_)) Fail(std::move(d));
    Replicator& r = sim_->node(sim_->live_nodes().front());
    CheckCounters(r);
    CheckRegisters(r);
    CheckElements(r);
    CheckGrowOnly(r);
    CheckConcurrentSet(r);
    CheckDeletes();
  }

 private:
  // The incarnation that issued a write.
  struct Origin {
    NodeId node = 0;
    uint64_t incarnation = 0;
  };

  void Fail(std::string what) {
    failures_.push_back("seed " + std::to_string(seed_) + ": " + std::move(what));
  }
  void Ok(const Status& s) {
    if (!s.ok()) Fail("unexpected error: " + s.ToString());
  }

  double Uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }

  // Before a restart: the snapshot may have lost its last write, or hold a damaged record.
  void DamageSnapshot(NodeId n) {
    sim::SimSnapshotStore* store = sim_->SnapshotStoreOf(n);
    if (store == nullptr) return;
    if (Chance(0.3)) store->LoseLastWrite();
    if (Chance(0.1)) {
      static constexpr const char* kKeys[] = {"g0", "pn0", "set0", "lww", "mm", "del1", "map"};
      store->Corrupt(kKeys[Pick(std::size(kKeys))]);
    }
  }

  // ---- no false acknowledgements ----
  struct AckCheck {
    std::string slot;
    ReplicaId replica;
    bool plus = true;
    uint64_t at_least = 0;  // the prefix sum of the acknowledged write
    uint64_t crashes = 0;   // crashes_ when issued
    size_t n = 0;           // N of the writer when issued (for the message)
    bool all = false;       // All, else Majority
  };

  // Every completion, the moment it happens.
  void OnCompletion(NodeId n, const Completion& c) {
    auto key = request_keys_.find({n, c.id});
    if (key != request_keys_.end()) {
      const bool deletable = key->second.rfind("del", 0) == 0;
      const StatusCode code = c.status.code();
      if (code != StatusCode::kOk && code != StatusCode::kTimeout &&
          !(code == StatusCode::kKeyDeleted && deletable)) {
        Fail("a request on " + key->second + " ended with " + c.status.ToString());
      }
      request_keys_.erase(key);
    }
    if (c.status.ok()) {
      if (auto ack = on_ack_.find({n, c.id}); ack != on_ack_.end()) {
        ack->second();
        on_ack_.erase(ack);
      }
    }
    CheckAck(n, c);
    CheckRead(n, c);
  }

  void CheckAck(NodeId n, const Completion& c) {
    auto it = ack_checks_.find({n, c.id});
    if (it == ack_checks_.end()) return;
    const AckCheck a = std::move(it->second);
    ack_checks_.erase(it);
    if (!c.status.ok() || a.crashes != crashes_) return;  // a crash may have taken a holder
    size_t holders = 0;
    for (NodeId m : sim_->live_nodes()) {
      const std::optional<PNCounter> v = FinalCounter(sim_->node(m), a.slot);
      const uint64_t slot = !v ? 0 : (a.plus ? v->increments() : v->decrements()).SlotOf(a.replica);
      holders += slot >= a.at_least ? 1 : 0;
    }
    ++acks_checked_;
    // The level is of the replicas there are when it completes (members may have joined or left).
    const size_t n_now = sim_->node(n).replica_count();
    const size_t required = a.all ? n_now : n_now / 2 + 1;
    if (holders < required) {
      Fail("counter " + a.slot + ": a write acknowledged by node " + std::to_string(n) + " is on " +
           std::to_string(holders) + " replicas, " + std::to_string(required) +
           " required (N then " + std::to_string(a.n) + (a.all ? ", All" : ", Majority") +
           ", N now " + std::to_string(sim_->node(n).replica_count()) + ", t " +
           std::to_string(sim_->now()) + ", request " + std::to_string(c.id) + ")");
    }
  }

  bool AliveAtEnd(const Origin& o) const {
    return sim_->IsLive(o.node) && sim_->incarnation(o.node) == o.incarnation;
  }

  // ---- the script ----
  void Fault() {
    if (Chance(0.04)) {
      if (partitioned_) {
        sim_->Heal();
        partitioned_ = false;
      } else {
        std::vector<NodeId> m = sim_->members();
        std::shuffle(m.begin(), m.end(), rng_);
        const auto cut = static_cast<std::ptrdiff_t>(1 + Pick(m.size() - 1));
        if (m.size() >= 3 && Chance(0.3)) {  // three groups: the rest is the third
          const auto second = cut + static_cast<std::ptrdiff_t>(Pick(m.size() - cut));
          Ok(sim_->Partition(
              {{m.begin(), m.begin() + cut}, {m.begin() + cut, m.begin() + second}}));
        } else {
          Ok(sim_->Partition({{m.begin(), m.begin() + cut}}));  // the rest is the other side
        }
        partitioned_ = true;
      }
    }
    if (Chance(0.03)) {
      const NodeId n = nodes_ - 1 - Pick(nodes_ - stable_);  // a crashable node
      if (sim_->IsMember(n)) {
        ++crashes_;
        if (sim_->IsLive(n)) {
          sim_->Crash(n);
          const std::vector<NodeId> members = sim_->members();
          const auto live = std::count_if(members.begin(), members.end(),
                                          [&](NodeId m) { return sim_->IsLive(m); });
          if (2 * static_cast<size_t>(live) <= members.size()) ++majority_down_;
        } else {
          DamageSnapshot(n);
          sim_->Restart(n);
        }
      }
    }
    if (Chance(0.01)) {  // a wall clock steps, up to an hour either way
      const NodeId n = Pick(nodes_);
      if (sim_->IsMember(n)) Ok(sim_->SkewClock(n, Uniform(-3600, 3600)));
    }
    if (Chance(0.02)) Ok(sim_->SetLoss(Uniform(0.1, 0.3)));
    if (Chance(0.02)) {
      const NodeId a = Pick(nodes_), b = Pick(nodes_);
      if (a != b && Chance(0.5)) {
        Ok(sim_->SetLinkLoss(a, b, Uniform(0.3, 0.9)));
      } else if (a != b) {  // one direction only, up to a cut
        Ok(sim_->SetLinkLoss(a, b, Uniform(0.5, 1.0), /*one_way=*/true));
      }
    }
    if (!membership_changed_ && Chance(0.004)) {
      membership_changed_ = true;
      ++crashes_;  // a node that leaves takes its copies along, as a crash does
      if (Chance(0.5)) {
        ids_ = sim_->AddNode() + 1;  // a stable member from now on
      } else if (sim_->IsMember(nodes_ - 1) && nodes_ - 1 >= stable_) {
        sim_->RemoveNode(nodes_ - 1);  // a crashable node leaves for good
        removed_ = true;
      }
    }
  }

  Consistency Level() {
    const double x = Uniform(0, 1);
    return x < 0.7 ? Consistency::kLocal : x < 0.95 ? Consistency::kMajority : Consistency::kAll;
  }

  // Issues an update; true when it applied locally. `on_ack` runs if (when) a coordinated write
  // is acknowledged.
  bool Issue(NodeId n, const std::string& key, CrdtType type, const Replicator::Mutation& m,
             Consistency level, std::function<void()> on_ack = nullptr) {
    auto id = sim_->Update(n, key, type, m, level, Uniform(0.3, 1.0));
    last_request_ = id.ok() ? *id : 0;
    if (!id.ok()) {
      // Only the deletable keys may refuse (deleted); anything else is a failure.
      if (id.status().code() != StatusCode::kKeyDeleted || key.rfind("del", 0) != 0) {
        Fail("update of " + key + ": " + id.status().ToString());
      }
      return false;
    }
    if (*id != 0 && on_ack && !majority_crashes_) on_ack_[{n, *id}] = std::move(on_ack);
    if (*id != 0) request_keys_[{n, *id}] = key;
    return true;
  }

  void Operation() {
    const std::vector<NodeId> live = sim_->live_nodes();
    const NodeId n = live[Pick(live.size())];
    const ReplicaId r = sim_->node(n).replica_id();
    const Origin origin{n, sim_->incarnation(n)};
    const Consistency level = Level();
    const std::string sub(1, static_cast<char>('a' + Pick(3)));
    switch (Pick(14)) {
      case 0:
        CounterStep("g" + std::to_string(Pick(2)), "", CrdtType::kGCounter,
                    static_cast<int64_t>(1 + Pick(5)), n, r, origin, level);
        break;
      case 1:
        CounterStep("pn" + std::to_string(Pick(2)), "", CrdtType::kPNCounter,
                    static_cast<int64_t>(Pick(11)) - 5, n, r, origin, level);
        break;
      case 2:
        CounterStep("pnm", sub, CrdtType::kPNCounterMap, static_cast<int64_t>(Pick(7)) - 3, n, r,
                    origin, level);
        break;
      case 3:  // an ORMap: a counter under "n", a set under "s"
        if (Chance(0.5)) {
          CounterStep("map", "n", CrdtType::kORMap, static_cast<int64_t>(Pick(9)) - 4, n, r, origin,
                      level);
        } else {
          ElementStep("map", "s", level);
        }
        break;
      case 4:
        ElementStep("set" + std::to_string(Pick(2)), "", level);
        break;
      case 5:
        ElementStep("mm", sub, level);
        break;
      case 6:
        RegisterStep("lww", "", n, r, origin, level);
        break;
      case 7:
        RegisterStep("lwwm", sub, n, r, origin, level);
        break;
      case 8: {
        const std::string key = "flag" + std::to_string(Pick(2));
        FlagTrack& f = flags_[key];
        if (Issue(n, key, CrdtType::kFlag, FlagEnable(), level, [&f] { f.must = true; })) {
          f.origins.push_back(origin);
        }
        break;
      }
      case 9: {
        const Value v = IntValue(static_cast<int64_t>(Pick(20)));
        ValueTrack& g = values_["gs"];
        if (Issue(n, "gs", CrdtType::kGSet, GSetAdd(v), level, [&g, v] { g.must.insert(v); })) {
          g.all.insert(v);
          g.writes.push_back({v, origin});
        }
        break;
      }
      case 10: {
        const Value v = StringValue("mv" + std::to_string(values_["mv"].all.size()));
        ValueTrack& g = values_["mv"];
        std::set<Value> replaced;  // every entry of the writer's store, shown or not
        if (const auto* x = Read<MVRegister>(sim_->node(n), "mv", CrdtType::kMVRegister)) {
          for (const auto& e : x->store()) replaced.insert(e.value);
        }
        g.replaced[v] = std::move(replaced);
        if (Issue(n, "mv", CrdtType::kMVRegister, MVSet(r, v), level,
                  [&g, v] { g.must.insert(v); })) {
          g.all.insert(v);
          g.writes.push_back({v, origin});
        }
        break;
      }
      case 11:
        DeletableStep(n, r, level);
        break;
      case 12:
        ConcurrentSetStep(n, r, origin, level);
        break;
      default: {  // a coordinated read: it merges what the peers hold into the reader
        static constexpr std::pair<const char*, CrdtType> kReadable[] = {
            {"pn0", CrdtType::kPNCounter},
            {"set0", CrdtType::kORSet},
            {"mv", CrdtType::kMVRegister},
            {"pnm", CrdtType::kPNCounterMap},
            {"del1", CrdtType::kORSet}};
        const auto& [key, type] = kReadable[Pick(std::size(kReadable))];
        auto id =
            sim_->Read(n, key, type, level == Consistency::kLocal ? Consistency::kMajority : level,
                       Uniform(0.3, 1.0));
        if (!id.ok()) {
          Fail(std::string("read of ") + key + ": " + id.status().ToString());
        } else if (*id != 0) {
          request_keys_[{n, *id}] = key;
          ExpectInRead(n, *id, key);
        }
        break;
      }
    }
  }

  // ---- counters ----
  struct CounterTrack {
    Origin origin;
    std::vector<uint64_t> plus{0}, minus{0};       // prefix sums, operation by operation
    size_t plus_must = 0, minus_must = 0;          // index of the last acknowledged prefix sum
    uint64_t plus_crashes = 0, minus_crashes = 0;  // crashes_ when plus_must (minus_must) was set
  };

  // ---- coordinated reads of counters ----
  struct ReadCheck {
    std::string key;
    uint64_t crashes = 0;
    // (sub-key, writer replica, at least plus, at least minus)
    std::vector<std::tuple<std::string, ReplicaId, uint64_t, uint64_t>> expected;
  };

  // A Majority/All read of a counter key must return every acknowledged write of it.
  void ExpectInRead(NodeId n, RequestId id, const std::string& key) {
    if (key != "pn0" && key != "pnm") return;
    ReadCheck check{key, crashes_, {}};
    for (const auto& [slot_replica, t] : counters_) {
      const auto& [slot, replica] = slot_replica;
      const auto [k, sub] = Split(slot);
      if (k != key) continue;
      // Only what was acknowledged since the last crash (or leave) is surely on a majority now.
      const uint64_t plus = t.plus_crashes == crashes_ ? t.plus[t.plus_must] : 0;
      const uint64_t minus = t.minus_crashes == crashes_ ? t.minus[t.minus_must] : 0;
      if (plus > 0 || minus > 0) check.expected.emplace_back(sub, replica, plus, minus);
    }
    read_checks_[{n, id}] = std::move(check);
  }

  void CheckRead(NodeId n, const Completion& c) {
    auto it = read_checks_.find({n, c.id});
    if (it == read_checks_.end()) return;
    const ReadCheck r = std::move(it->second);
    read_checks_.erase(it);
    if (!c.status.ok() || r.crashes != crashes_) return;
    ++reads_checked_;
    // Pruned writers' acknowledged counts are in their targets' slots: compared in sums.
    const std::vector<PruningRecord> records = sim_->node(n).PruningRecords(r.key);
    std::map<std::pair<std::string, ReplicaId>, std::pair<uint64_t, uint64_t>> wanted;
    for (const auto& [sub, replica, plus, minus] : r.expected) {
      auto& w = wanted[{sub, SlotOwner(records, replica)}];
      w.first += plus;
      w.second += minus;
    }
    for (const auto& [sub_replica, sums] : wanted) {
      const auto& [sub, replica] = sub_replica;
      const auto& [plus, minus] = sums;
      std::optional<PNCounter> got;
      if (c.value && r.key == "pn0") {
        if (const auto* p = c.value->get_if<PNCounter>()) got = *p;
      } else if (c.value) {
        if (const auto* m = c.value->get_if<PNCounterMap>()) {
          got = m->map().GetPNCounter(StringValue(sub));
        }
      }
      const uint64_t p = got ? got->increments().SlotOf(replica) : 0;
      const uint64_t m = got ? got->decrements().SlotOf(replica) : 0;
      if (p < plus || m < minus) {
        Fail("a coordinated read of " + r.key + (sub.empty() ? "" : "/" + sub) + " on node " +
             std::to_string(n) + " misses an acknowledged write (" + std::to_string(p) + "/" +
             std::to_string(m) + " < " + std::to_string(plus) + "/" + std::to_string(minus) + ")");
      }
    }
  }

  void CounterStep(const std::string& key, const std::string& sub, CrdtType type, int64_t delta,
                   NodeId n, ReplicaId r, Origin origin, Consistency level) {
    if (delta == 0) delta = 1;
    Replicator::Mutation m;
    switch (type) {
      case CrdtType::kGCounter:
        m = GIncrement(r, static_cast<uint64_t>(delta));
        break;
      case CrdtType::kPNCounter:
        m = PNAdd(r, delta);
        break;
      case CrdtType::kPNCounterMap:
        m = PNMapAdd(r, StringValue(sub), delta);
        break;
      default:
        m = MapIncrement(r, StringValue(sub), delta);
        break;
    }
    CounterTrack& t = counters_[{key + "/" + sub, r}];
    t.origin = origin;
    const bool plus = delta > 0;
    std::vector<uint64_t>& sums = plus ? t.plus : t.minus;
    size_t& must = plus ? t.plus_must : t.minus_must;
    const size_t index = sums.size();
    const uint64_t sum = sums.back() + static_cast<uint64_t>(plus ? delta : -delta);
    const size_t replicas = sim_->node(n).replica_count();
    uint64_t& must_crashes = plus ? t.plus_crashes : t.minus_crashes;
    if (Issue(n, key, type, m, level, [this, &must, &must_crashes, index] {
          if (index < must) return;  // an older write acknowledged late
          must = index;
          must_crashes = crashes_;
        })) {
      sums.push_back(sum);
      if (last_request_ != 0) {
        ack_checks_[{n, last_request_}] =
            AckCheck{key + "/" + sub, r, plus, sum, crashes_, replicas, level == Consistency::kAll};
      }
    }
  }

  static std::pair<std::string, std::string> Split(const std::string& slot) {
    const size_t slash = slot.find('/');
    return {slot.substr(0, slash), slot.substr(slash + 1)};
  }

  template <typename T>
  static const T* Read(Replicator& r, const std::string& key, CrdtType type) {
    auto v = r.Get(key, type);
    return v.ok() && *v != nullptr ? (*v)->get_if<T>() : nullptr;
  }

  static std::optional<PNCounter> FinalCounter(Replicator& r, const std::string& slot) {
    const auto [key, sub] = Split(slot);
    if (key.rfind("pnm", 0) == 0) {
      const auto* m = Read<PNCounterMap>(r, key, CrdtType::kPNCounterMap);
      return m ? m->map().GetPNCounter(StringValue(sub)) : std::nullopt;
    }
    if (key == "map") {
      const auto* m = Read<ORMap>(r, key, CrdtType::kORMap);
      return m ? m->GetPNCounter(StringValue(sub)) : std::nullopt;
    }
    if (key[0] == 'g') {
      const auto* g = Read<GCounter>(r, key, CrdtType::kGCounter);
      return g ? std::optional(PNCounter::FromParts(*g, GCounter())) : std::nullopt;
    }
    const auto* c = Read<PNCounter>(r, key, CrdtType::kPNCounter);
    return c ? std::optional(*c) : std::nullopt;
  }

  // Where a replica's counter slot is now, after the key's prunings (records of `r`): itself, or
  // the target a pruning moved it into (and on, through targets pruned in turn).
  static ReplicaId SlotOwner(const std::vector<PruningRecord>& records, ReplicaId replica) {
    for (size_t hops = 0; hops <= records.size(); ++hops) {
      auto it = std::find_if(records.begin(), records.end(),
                             [&](const PruningRecord& p) { return p.removed == replica; });
      if (it == records.end()) break;
      replica = it->into;
    }
    return replica;
  }

  // Each live incarnation's slot is exactly what it wrote, a dead one's a prefix of its writes
  // with every acknowledged one; a pruned one's is gone, and a pruning target's slot lies between
  // the sums of what the replicas pruned into it surely and possibly wrote.
  void CheckCounters(Replicator& r) {
    std::map<std::string, std::set<ReplicaId>> writers;
    struct Bounds {
      uint64_t plus_lo = 0, plus_hi = 0, minus_lo = 0, minus_hi = 0;
    };
    std::map<std::pair<std::string, ReplicaId>, Bounds> targets;
    for (const auto& [id, t] : counters_) {
      const auto& [slot, replica] = id;
      const ReplicaId owner = SlotOwner(r.PruningRecords(Split(slot).first), replica);
      writers[slot].insert(owner);
      const std::optional<PNCounter> c = FinalCounter(r, slot);
      const uint64_t plus = c ? c->increments().SlotOf(replica) : 0;
      const uint64_t minus = c ? c->decrements().SlotOf(replica) : 0;
      const std::string where = "counter " + slot + " slot " + replica.ToString() + " (node " +
                                std::to_string(t.origin.node) + ")";
      if (owner != replica) {
        if (plus != 0 || minus != 0) Fail(where + ": a pruned slot remains");
        Bounds& b = targets[{slot, owner}];
        b.plus_lo += t.plus[t.plus_must];
        b.plus_hi += t.plus.back();
        b.minus_lo += t.minus[t.minus_must];
        b.minus_hi += t.minus.back();
        continue;
      }
      auto is_prefix = [](const std::vector<uint64_t>& sums, uint64_t v) {
        return std::find(sums.begin(), sums.end(), v) != sums.end();
      };
      if (AliveAtEnd(t.origin)) {
        if (plus != t.plus.back() || minus != t.minus.back()) {
          Fail(where + ": a live incarnation's slot is " + std::to_string(plus) + "/" +
               std::to_string(minus) + ", wrote " + std::to_string(t.plus.back()) + "/" +
               std::to_string(t.minus.back()));
        }
        continue;
      }
      if (!is_prefix(t.plus, plus) || !is_prefix(t.minus, minus)) {
        Fail(where + ": a slot that no prefix of the writes explains");
      }
      if (plus < t.plus[t.plus_must] || minus < t.minus[t.minus_must]) {
        Fail(where + ": an acknowledged increment is lost");
      }
    }
    for (const auto& [slot_target, b] : targets) {
      const auto& [slot, target] = slot_target;
      const std::optional<PNCounter> c = FinalCounter(r, slot);
      const uint64_t plus = c ? c->increments().SlotOf(target) : 0;
      const uint64_t minus = c ? c->decrements().SlotOf(target) : 0;
      if (plus < b.plus_lo || plus > b.plus_hi || minus < b.minus_lo || minus > b.minus_hi) {
        Fail("counter " + slot + ": the pruning target's slot " + std::to_string(plus) + "/" +
             std::to_string(minus) + " is not what was pruned into it (" +
             std::to_string(b.plus_lo) + ".." + std::to_string(b.plus_hi) + "/" +
             std::to_string(b.minus_lo) + ".." + std::to_string(b.minus_hi) + ")");
      }
    }
    for (const auto& [slot, replicas] : writers) {
      const std::optional<PNCounter> c = FinalCounter(r, slot);
      if (!c) continue;
      for (const GCounter* g : {&c->increments(), &c->decrements()}) {
        for (const auto& [replica, count] : g->slots()) {
          if (!replicas.count(replica)) Fail("counter " + slot + ": a phantom slot");
        }
      }
    }
  }

  // ---- registers ----
  struct RegisterWrite {
    LWWRegister written;
    Origin origin;
    bool acked = false;
  };

  static std::optional<LWWRegister> FinalRegister(Replicator& r, const std::string& slot) {
    const auto [key, sub] = Split(slot);
    if (sub.empty()) {
      const auto* x = Read<LWWRegister>(r, key, CrdtType::kLWWRegister);
      return x ? std::optional(*x) : std::nullopt;
    }
    const auto* m = Read<LWWMap>(r, key, CrdtType::kLWWMap);
    return m ? m->map().GetLWWRegister(StringValue(sub)) : std::nullopt;
  }

  void RegisterStep(const std::string& key, const std::string& sub, NodeId n, ReplicaId r,
                    Origin origin, Consistency level) {
    const Value v = IntValue(static_cast<int64_t>(Pick(1000)));
    // The writer's wall clock (it may be skewed; before the epoch it stamps 0, as the bindings).
    const auto clock =
        static_cast<uint64_t>(std::max<TimeMicros>(sim_->node(n).WallTime(sim_->now()), 0));
    const bool map = !sub.empty();
    std::vector<RegisterWrite>& writes = registers_[key + "/" + sub];
    const size_t index = writes.size();
    if (!Issue(n, key, map ? CrdtType::kLWWMap : CrdtType::kLWWRegister,
               map ? LWWMapPut(r, StringValue(sub), v, clock) : LWWSet(r, v, clock), level,
               [&writes, index] { writes[index].acked = true; })) {
      return;
    }
    // A local write always wins locally: the node's register now is the written one.
    std::optional<LWWRegister> written = FinalRegister(sim_->node(n), key + "/" + sub);
    if (!written || written->value() != v) Fail(key + ": a local write did not win locally");
    writes.push_back({written.value_or(LWWRegister()), origin, false});
  }

  void CheckRegisters(Replicator& r) {
    for (const auto& [slot, writes] : registers_) {
      if (writes.empty()) continue;
      const std::optional<LWWRegister> final_value = FinalRegister(r, slot);
      if (!final_value) {
        // Gone with crashed writers that never got it out: only a write that must survive counts.
        if (std::any_of(writes.begin(), writes.end(),
                        [&](const RegisterWrite& w) { return w.acked || AliveAtEnd(w.origin); })) {
          Fail("register " + slot + " is missing");
        }
        continue;
      }
      bool one_of_the_writes = false;
      for (const RegisterWrite& w : writes) {
        one_of_the_writes = one_of_the_writes || w.written == *final_value;
        // Last writer wins by (timestamp, replica, value): the final register is at least every
        // write that must survive.
        const auto order = [](const LWWRegister& x) {
          return std::make_tuple(x.timestamp(), x.replica(), x.value());
        };
        if ((w.acked || AliveAtEnd(w.origin)) && order(w.written) > order(*final_value)) {
          Fail("register " + slot + ": a write that must survive was lost");
        }
      }
      if (!one_of_the_writes) Fail("register " + slot + ": a value nobody wrote");
    }
  }

  // ---- set elements, one writer each ----
  void ElementStep(const std::string& key, const std::string& sub, Consistency level) {
    const int64_t element = static_cast<int64_t>(Pick(8));
    const NodeId writer = static_cast<NodeId>(element) % stable_;
    const ReplicaId r = sim_->node(writer).replica_id();
    bool& present = elements_[key + "/" + sub][element];
    const bool add = !present || Chance(0.3);
    const Value v = IntValue(element);
    const Value k = StringValue(sub);
    CrdtType type = CrdtType::kORSet;
    Replicator::Mutation m = add ? SetAdd(r, v) : SetRemove(v);
    if (key == "map") {
      type = CrdtType::kORMap;
      m = add ? MapAddElement(r, k, v) : MapRemoveElement(k, v);
    } else if (key == "mm") {
      type = CrdtType::kORMultiMap;
      m = add ? MultiMapAdd(r, k, v) : MultiMapRemove(k, v);
    }
    if (Issue(writer, key, type, m, level)) present = add;
  }

  static std::vector<Value> FinalElements(Replicator& r, const std::string& slot) {
    const auto [key, sub] = Split(slot);
    if (key == "map") {
      const auto* m = Read<ORMap>(r, key, CrdtType::kORMap);
      auto s = m ? m->GetORSet(StringValue(sub)) : std::nullopt;
      return s ? s->Elements() : std::vector<Value>{};
    }
    if (key == "mm") {
      const auto* m = Read<ORMultiMap>(r, key, CrdtType::kORMultiMap);
      return m ? m->Get(StringValue(sub)) : std::vector<Value>{};
    }
    const auto* s = Read<ORSet>(r, key, CrdtType::kORSet);
    return s ? s->Elements() : std::vector<Value>{};
  }

  void CheckElements(Replicator& r) {
    for (const auto& [slot, elements] : elements_) {
      std::vector<Value> expected;
      for (const auto& [e, present] : elements) {
        if (present) expected.push_back(IntValue(e));
      }
      std::sort(expected.begin(), expected.end());
      if (FinalElements(r, slot) != expected) {
        Fail("set " + slot + ": the elements differ from the writers' last operations");
      }
    }
  }

  // ---- flags, grow-only sets, multi-value registers ----
  struct FlagTrack {
    bool must = false;
    std::vector<Origin> origins;
  };
  struct ValueTrack {
    std::set<Value> all, must;
    std::vector<std::pair<Value, Origin>> writes;
    // MVRegister: what each write replaced, the values in its writer's store when it wrote.
    std::map<Value, std::set<Value>> replaced;
  };

  void CheckGrowOnly(Replicator& r) {
    for (auto& [key, f] : flags_) {
      for (const Origin& o : f.origins) f.must = f.must || AliveAtEnd(o);
      const auto* flag = Read<Flag>(r, key, CrdtType::kFlag);
      const bool enabled = flag != nullptr && flag->enabled();
      if (f.must && !enabled) Fail(key + ": an enable that must survive was lost");
      if (f.origins.empty() && enabled) Fail(key + ": enabled by nobody");
    }
    for (auto& [key, g] : values_) {
      for (const auto& [v, o] : g.writes) {
        if (AliveAtEnd(o)) g.must.insert(v);
      }
      std::vector<Value> final_values;
      if (key == "gs") {
        if (const auto* s = Read<GSet>(r, key, CrdtType::kGSet)) final_values = s->Elements();
        for (const Value& m : g.must) {
          if (std::find(final_values.begin(), final_values.end(), m) == final_values.end()) {
            Fail(key + ": an element that must survive was lost");
          }
        }
      } else {
        if (const auto* x = Read<MVRegister>(r, key, CrdtType::kMVRegister)) {
          final_values = x->Values();
        }
        CheckMultiValue(key, g, final_values);
      }
      for (const Value& v : final_values) {
        if (!g.all.count(v)) Fail(key + ": a value nobody wrote");
      }
    }
  }

  // An MVRegister holds exactly the writes that no write replaced: no value beside one that
  // replaced it (a value's delta, or any state holding it, carries what it replaced), and a write
  // that must survive is there unless some write, surviving or not, replaced it. Replacement is
  // direct, not transitive: deltas arrive in any order, so a write replaced by a write that was
  // itself replaced may come back beside the last one when the middle write's delta was lost with
  // its node.
  void CheckMultiValue(const std::string& key, ValueTrack& g, const std::vector<Value>& values) {
    auto replaced_by_a_value = [&](const Value& w) {
      return std::any_of(values.begin(), values.end(),
                         [&](const Value& u) { return g.replaced[u].count(w) != 0; });
    };
    auto replaced_by_any = [&](const Value& w) {
      return std::any_of(g.replaced.begin(), g.replaced.end(),
                         [&](const auto& u) { return u.second.count(w) != 0; });
    };
    for (const Value& v : values) {
      if (replaced_by_a_value(v)) Fail(key + ": a value stayed beside one that replaced it");
    }
    for (const Value& m : g.must) {
      if (std::find(values.begin(), values.end(), m) == values.end() && !replaced_by_any(m)) {
        Fail(key + ": a write that must survive was lost, and no write replaced it");
      }
    }
  }

  // ---- an ORSet ("cset") and an ORMultiMap ("cmm") that every node, crashable ones too, adds
  // to, removes from and clears (cmm: removes whole map keys) ----
  // An add creates one dot and replaces the element's dots that its node held then; a remove
  // (or a clear, or a map key's removal) deletes them. Checked by dots, exactly, as far as
  // survival is known. An element is (0, value) in cset, (1 + map key, value) in cmm.
  struct SetOp {
    std::set<Dot> dots;      // an add: its dot
    std::set<Dot> observed;  // the element's dots at its node before: deleted by it
    Origin origin;
    bool must = false;  // acknowledged; or its incarnation is alive at the end (see Check)
  };
  static constexpr int64_t kCsetElements = 4;
  static constexpr int64_t kCmmKeys = 2;
  using Element = std::pair<int64_t, int64_t>;
  struct ElementTrack {
    std::vector<SetOp> adds, removes;
  };

  static std::set<Dot> DotsOf(Replicator& r, const Element& e) {
    std::optional<ORSet> set;
    if (e.first == 0) {
      if (const auto* s = Read<ORSet>(r, "cset", CrdtType::kORSet)) set = *s;
    } else if (const auto* m = Read<ORMultiMap>(r, "cmm", CrdtType::kORMultiMap)) {
      set = m->map().GetORSet(IntValue(e.first - 1));
    }
    std::set<Dot> out;
    if (set) {
      if (const auto* dots = set->store().Find(IntValue(e.second))) {
        for (const auto& d : *dots) out.insert(d.dot);
      }
    }
    return out;
  }

  void ConcurrentSetStep(NodeId n, ReplicaId r, const Origin& origin, Consistency level) {
    Replicator& node = sim_->node(n);
    const bool multimap = Chance(0.5);
    const std::string key = multimap ? "cmm" : "cset";
    const CrdtType type = multimap ? CrdtType::kORMultiMap : CrdtType::kORSet;
    const int64_t group = multimap ? 1 + static_cast<int64_t>(Pick(kCmmKeys)) : 0;
    const Value map_key = IntValue(group - 1);
    if (Chance(0.05)) {  // a clear (cmm: a map key's removal): removes what the node holds
      std::vector<std::pair<Element, size_t>> index;
      for (int64_t v = 0; v < kCsetElements; ++v) {
        std::set<Dot> observed = DotsOf(node, {group, v});
        if (observed.empty()) continue;
        index.emplace_back(Element{group, v}, cset_[{group, v}].removes.size());
        cset_[{group, v}].removes.push_back({{}, std::move(observed), origin});
      }
      Issue(n, key, type,
            multimap ? Mutate<ORMultiMap>([=](ORMultiMap& m) { return m.RemoveKey(map_key); })
                     : Mutate<ORSet>([](ORSet& s) { return s.Clear(); }),
            level, [this, index] {
              for (const auto& [e, i] : index) cset_[e].removes[i].must = true;
            });
      return;
    }
    const Element e{group, static_cast<int64_t>(Pick(kCsetElements))};
    const Value v = IntValue(e.second);
    ElementTrack& t = cset_[e];
    std::set<Dot> before = DotsOf(node, e);
    if (Chance(0.6)) {
      const size_t i = t.adds.size();
      if (!Issue(n, key, type,
                 multimap ? Mutate<ORMultiMap>([=](ORMultiMap& m) { return m.Add(r, map_key, v); })
                          : SetAdd(r, v),
                 level, [this, e, i] { cset_[e].adds[i].must = true; })) {
        return;
      }
      std::set<Dot> created;
      for (const Dot& d : DotsOf(node, e)) {
        if (before.count(d) == 0) created.insert(d);
      }
      if (created.size() != 1) {
        Fail(key + ": an add made " + std::to_string(created.size()) + " dots");
      }
      t.adds.push_back({std::move(created), std::move(before), origin});
    } else {
      const size_t i = t.removes.size();
      t.removes.push_back({{}, std::move(before), origin});
      Issue(n, key, type,
            multimap ? Mutate<ORMultiMap>([=](ORMultiMap& m) { return m.Remove(map_key, v); })
                     : SetRemove(v),
            level, [this, e, i] { cset_[e].removes[i].must = true; });
    }
  }

  // For every element: no dot that nobody added; no dot that an operation which must survive
  // observed; every dot of an add that must survive, unless some operation (surviving or not)
  // observed it.
  // Dots are compared after the prunings the key went through: a removed replica's dot that a
  // pruning moved is the target's dot it became (the records are the checked replica's).
  void CheckConcurrentSet(Replicator& r) {
    std::map<std::string, std::vector<PruningRecord>> records;
    for (const char* key : {"cset", "cmm"}) records[key] = r.PruningRecords(key);
    for (auto& [e, t] : cset_) {
      const std::vector<PruningRecord>& moves = records[e.first == 0 ? "cset" : "cmm"];
      const auto canonical = [&](const std::set<Dot>& dots) {
        std::set<Dot> out;
        for (Dot d : dots) {
          // A target of a removed owner is pruned in turn: follow the moves to the end.
          for (bool moved = true; moved;) {
            moved = false;
            for (const PruningRecord& p : moves) {
              if (d.replica != p.removed) continue;
              if (std::optional<Dot> to = p.MovedTo(d.counter)) d = *to, moved = true;
            }
          }
          out.insert(d);
        }
        return out;
      };
      const std::set<Dot> final_dots = DotsOf(r, e);
      std::set<Dot> added, removed_surely, removed_maybe;
      for (std::vector<SetOp>* ops : {&t.adds, &t.removes}) {
        for (SetOp& x : *ops) {
          x.must = x.must || AliveAtEnd(x.origin);
          x.dots = canonical(x.dots);
          x.observed = canonical(x.observed);
          added.insert(x.dots.begin(), x.dots.end());
          removed_maybe.insert(x.observed.begin(), x.observed.end());
          if (x.must) removed_surely.insert(x.observed.begin(), x.observed.end());
        }
      }
      const std::string what =
          (e.first == 0 ? "cset element " : "cmm[" + std::to_string(e.first - 1) + "] element ") +
          std::to_string(e.second) + ": ";
      for (const Dot& d : final_dots) {
        if (added.count(d) == 0) Fail(what + "a dot nobody added");
        if (removed_surely.count(d) != 0) Fail(what + "a dot that a surviving operation replaced");
      }
      for (const SetOp& a : t.adds) {
        for (const Dot& d : a.dots) {
          if (a.must && removed_maybe.count(d) == 0 && final_dots.count(d) == 0) {
            Fail(what + "an add that must survive, which nothing replaced, was lost");
          }
        }
      }
    }
  }

  // ---- deletable keys ----
  struct DeleteTrack {
    bool must = false;
    bool any = false;
  };

  void DeletableStep(NodeId n, ReplicaId r, Consistency level) {
    static constexpr CrdtType kTypes[] = {CrdtType::kGCounter,    CrdtType::kORSet,
                                          CrdtType::kLWWRegister, CrdtType::kORMultiMap,
                                          CrdtType::kFlag,        CrdtType::kMVRegister};
    const size_t i = Pick(6);
    const std::string key = "del" + std::to_string(i);
    const CrdtType type = kTypes[i];
    DeleteTrack& d = deletes_[key];
    // Where tombstones are collected, a deleted key is not written again: any value of it found
    // at the end came back from before its delete.
    if (collects_ && d.any) return;
    if (Chance(0.3)) {
      auto id = sim_->Delete(n, key, type, level, Uniform(0.3, 1.0));
      if (!id.ok()) {
        Fail("delete of " + key + ": " + id.status().ToString());
        return;
      }
      d.any = true;
      if (n < stable_) d.must = true;
      if (*id != 0) on_ack_[{n, *id}] = [&d] { d.must = true; };
      if (*id != 0) request_keys_[{n, *id}] = key;
      return;
    }
    const Value v = IntValue(static_cast<int64_t>(Pick(4)));
    Replicator::Mutation m;
    switch (type) {
      case CrdtType::kGCounter:
        m = GIncrement(r, 1);
        break;
      case CrdtType::kORSet:
        m = Chance(0.7) ? SetAdd(r, v) : SetRemove(v);
        break;
      case CrdtType::kLWWRegister:
        m = LWWSet(r, v, static_cast<uint64_t>(sim_->now()));
        break;
      case CrdtType::kORMultiMap:
        m = Chance(0.7) ? MultiMapAdd(r, v, v) : MultiMapRemove(v, v);
        break;
      case CrdtType::kFlag:
        m = FlagEnable();
        break;
      default:
        m = MVSet(r, v);
        break;
    }
    Issue(n, key, type, m, level);
  }

  void CheckDeletes() {
    for (const auto& [key, d] : deletes_) {
      for (NodeId n : sim_->live_nodes()) {
        const bool deleted = sim_->node(n).IsDeleted(key);
        bool live = false;
        for (const auto& [name, type] : sim_->node(n).Keys()) live = live || name == key;
        if (d.must && collects_ && live) {
          Fail(key + " came back on node " + std::to_string(n) + " after its delete");
        }
        if (d.must && !collects_ && !deleted) {
          Fail(key + " is not deleted on node " + std::to_string(n));
        }
        if (!d.any && deleted) Fail(key + " is deleted on node " + std::to_string(n));
      }
    }
  }

  uint64_t seed_;
  std::mt19937_64 rng_;  // the script's choices (the simulation has its own random source)
  NodeId nodes_;         // members at the start
  // Runs where every node but node 0 may crash, a majority at once: an acknowledgement then
  // promises nothing after the fact (the majority that acknowledged may crash and lose its
  // snapshots' last writes), so the oracles count only writes of incarnations alive at the end
  // (and the no-false-acknowledgement check, which holds at the moment of the ack).
  bool majority_crashes_;
  bool prunes_;    // removed replicas are pruned during the run
  bool collects_;  // tombstones are collected during the run (deleted keys not written again)
  bool removed_ = false;  // a node left
  NodeId stable_;         // nodes 0..stable_-1 never crash
  NodeId ids_;            // every id the simulation handed out is below this
  std::unique_ptr<Simulation> sim_;
  bool partitioned_ = false;
  bool membership_changed_ = false;
  std::optional<double> converged_after_;
  std::vector<std::string> failures_;

  std::map<std::pair<NodeId, RequestId>, std::function<void()>> on_ack_;
  std::map<std::pair<NodeId, RequestId>, AckCheck> ack_checks_;
  std::map<std::pair<NodeId, RequestId>, ReadCheck> read_checks_;
  std::map<std::pair<NodeId, RequestId>, std::string> request_keys_;  // coordinated requests
  uint64_t reads_checked_ = 0;
  uint64_t majority_down_ = 0;
  RequestId last_request_ = 0;  // of the last Issue (0: none, or local)
  uint64_t crashes_ = 0;        // crashes and restarts so far
  uint64_t acks_checked_ = 0;
  std::map<std::pair<std::string, ReplicaId>, CounterTrack> counters_;
  std::map<std::string, std::vector<RegisterWrite>> registers_;
  std::map<std::string, std::map<int64_t, bool>> elements_;
  std::map<std::string, FlagTrack> flags_;
  std::map<std::string, ValueTrack> values_;
  std::map<Element, ElementTrack> cset_;  // the keys "cset" and "cmm", by element
  std::map<std::string, DeleteTrack> deletes_;
};

}  // namespace convergent::test
