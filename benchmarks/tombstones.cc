// tombstones: the tombstone collection target of issue 13, measured in the deterministic
// simulator (a plain program, "name value unit" lines). 3 nodes hold N keys (default 100,000);
// node 0 deletes them all. Reported: the anti-entropy bytes per round (every kind of its frames,
// all nodes, divided by the rounds started) with the keys live, while every member holds the
// tombstones, and after they are collected; how long until every tombstone is out of the digest
// trees and until they are all collected; and that no key came back. Then node 1 restarts
// --lives times (default 100), each life deleting a key of its own, and the bytes per round are
// measured again once those deletes are collected: a restart makes a new replica, whose delete
// entries an advert must not carry for ever (replica/retired_deletes.h).
//
// Usage: tombstones [--keys N] [--lives N] (defaults 100000 and 100).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "convergent/simulation.h"
#include "sim_bench_support.h"

namespace convergent {
namespace {

constexpr double kTtl = 30.0;

SimulationOptions Options() {
  SimulationOptions so;
  so.nodes = 3;
  so.seed = 11;
  so.replicator.anti_entropy_interval = 1.0;
  so.replicator.delta_flush_interval = 0.05;
  so.replicator.prune_interval = 2.0;
  so.replicator.tombstone_ttl = kTtl;
  so.node.heartbeat_interval = 0.1;
  so.node.failure_timeout = 0.5;
  return so;
}

// Anti-entropy bytes sent and rounds started, over the live nodes.
struct RoundCost {
  double bytes = 0;
  double rounds = 0;
};
RoundCost Cost(Simulation& sim) {
  RoundCost c;
  for (NodeId n : sim.live_nodes()) {
    const auto m = sim.NodeMetrics(n);
    for (const char* kind : {"digest", "key_digests", "repair"}) {
      c.bytes += m.at(std::string("crdt.replicator.bytes.sent.") + kind);
    }
    c.rounds += m.at("crdt.replicator.antientropy.count");
  }
  return c;
}

// Bytes per round over `seconds` of quiet.
double BytesPerRound(Simulation& sim, double seconds) {
  const RoundCost before = Cost(sim);
  sim.RunFor(seconds);
  const RoundCost after = Cost(sim);
  const double rounds = after.rounds - before.rounds;
  return rounds > 0 ? (after.bytes - before.bytes) / rounds : 0;
}

size_t Tombstones(Simulation& sim) {
  size_t t = 0;
  for (NodeId n : sim.live_nodes()) t += sim.node(n).tombstone_count();
  return t;
}

// Node 1 restarts `lives` times; each life deletes one key node 0 wrote. Returns the bytes per
// round once everything is collected, or -1 when a key came back or a tombstone stayed.
double DeletingLives(Simulation& sim, int lives) {
  const ReplicaId r = sim.node(0).replica_id();
  for (int k = 0; k < lives; ++k) {
    if (!sim.Update(0, "d" + std::to_string(k), CrdtType::kGCounter, bench::Increment(r)).ok())
      return -1;
  }
  if (!sim.RunUntilConverged(60.0)) return -1;
  for (int life = 0; life < lives; ++life) {
    sim.Restart(1);
    sim.RunFor(2.0);  // it meets the others and catches up
    if (!sim.Delete(1, "d" + std::to_string(life), CrdtType::kGCounter).ok()) return -1;
    sim.RunFor(0.5);
  }
  sim.RunFor(kTtl + 30.0);  // collected, and the lives that are gone retired
  if (Tombstones(sim) != 0) return -1;
  for (NodeId n : sim.live_nodes()) {
    if (!sim.node(n).Keys().empty()) return -1;
  }
  return BytesPerRound(sim, 20.0);
}

int Run(int keys, int lives) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Simulation> made = bench::FormedSimulation(Options());
  if (made == nullptr) return 1;
  Simulation& sim = *made;
  const ReplicaId r = sim.node(0).replica_id();
  for (int k = 0; k < keys; ++k) {
    if (!sim.Update(0, "k" + std::to_string(k), CrdtType::kGCounter, bench::Increment(r)).ok())
      return 1;
    if (k % 1000 == 999) sim.RunFor(0.05);
  }
  if (!sim.RunUntilConverged(120.0)) return 1;
  const double live = BytesPerRound(sim, 20.0);

  for (int k = 0; k < keys; ++k) {
    if (!sim.Delete(0, "k" + std::to_string(k), CrdtType::kGCounter).ok()) return 1;
    if (k % 1000 == 999) sim.RunFor(0.05);
  }
  const double deleted_at = static_cast<double>(sim.now()) / 1e6;
  if (!sim.RunUntilConverged(120.0)) return 1;
  if (Tombstones(sim) != static_cast<size_t>(keys) * 3) {
    std::fprintf(stderr, "not every node holds every tombstone\n");
    return 1;
  }
  // Every member has them: adverts and passes take them out of the digest trees.
  double out_of_digest = -1;
  for (int i = 0; i < 600 && out_of_digest < 0; ++i) {
    sim.RunFor(0.1);
    bool all = true;
    for (NodeId n : sim.live_nodes()) all = all && sim.node(n).StoreDigest() == 0;
    if (all) out_of_digest = static_cast<double>(sim.now()) / 1e6 - deleted_at;
  }
  const double held = BytesPerRound(sim, 10.0);  // still held: within the TTL
  const size_t held_tombstones = Tombstones(sim);
  double collected = -1;
  for (int i = 0; i < 1200 && collected < 0; ++i) {
    sim.RunFor(0.1);
    if (Tombstones(sim) == 0) collected = static_cast<double>(sim.now()) / 1e6 - deleted_at;
  }
  const double after = BytesPerRound(sim, 20.0);
  size_t back = 0;
  for (NodeId n : sim.live_nodes()) back += sim.node(n).Keys().size();
  const double after_lives = DeletingLives(sim, lives);
  const auto metrics = sim.NodeMetrics(0);  // (a build from before retirement has no gauge)
  const auto gauge = metrics.find("crdt.replicator.deletes.retired.replicas");
  const double retired = gauge == metrics.end() ? 0 : gauge->second;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("keys_deleted %d\n", keys);
  std::printf("ae_bytes_per_round_live_keys %.0f B\n", live);
  std::printf("ae_bytes_per_round_tombstones_held %.0f B (target < 1024; %zu tombstones held)\n",
              held, held_tombstones);
  std::printf("ae_bytes_per_round_collected %.0f B\n", after);
  std::printf("out_of_digest_after_delete %.1f s\n", out_of_digest);
  std::printf("collected_after_delete %.1f s (tombstone_ttl %.0f s)\n", collected, kTtl);
  std::printf("keys_back %zu\n", back);
  std::printf("ae_bytes_per_round_after_deleting_lives %.0f B (%d lives of node 1; %.0f retired)\n",
              after_lives, lives, retired);
  std::printf("wall %.1f s\n", wall);
  return out_of_digest >= 0 && collected >= 0 && back == 0 && after_lives >= 0 ? 0 : 1;
}

}  // namespace
}  // namespace convergent

int main(int argc, char** argv) {
  return convergent::Run(convergent::bench::IntArgument(argc, argv, "--keys", 100000),
                         convergent::bench::IntArgument(argc, argv, "--lives", 100));
}
