// sim_bench: the replication targets, measured in the deterministic simulator (a plain program:
// one scenario each, results as "name value unit" lines).
//
//   1. throughput: 5 nodes, 100,000 PNCounter updates over 10,000 keys at 10% loss, run to
//      convergence; wall seconds (target < 10 s).
//   2. anti-entropy bytes: 100,000 keys in agreement, the bytes of one round (target < 1 KiB);
//      then 100 keys diverged, the bytes of the repair against a full-state transfer of the
//      store (the encoded sizes summed; target < 5%).
//   3. heal: 5 nodes, 10,000 keys changed on both sides of a partition, heal; the virtual time to
//      converge in anti-entropy intervals (target <= 3), over several seeds.
//
// Usage: sim_bench [--seeds N] (the seeds of scenario 3; default 10).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "convergent/codec.h"
#include "convergent/simulation.h"

namespace convergent {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Line(const char* name, double value, const char* unit) {
  std::printf("%-44s %14.4f %s\n", name, value, unit);
}

std::unique_ptr<Simulation> MakeSim(int nodes, uint64_t seed, ReplicatorOptions o) {
  SimulationOptions so;
  so.nodes = nodes;
  so.seed = seed;
  so.replicator = o;
  so.latency = 0.001;
  so.jitter = 0.0005;
  auto sim = Simulation::Create(so);
  if (!sim.ok()) {
    std::fprintf(stderr, "%s\n", sim.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(sim).value();
}

Replicator::Mutation PNAdd(ReplicaId r, int64_t n) {
  return [r, n](AnyCrdt& v) -> Result<AnyCrdt> {
    PNCounter& c = *v.get_if<PNCounter>();
    return AnyCrdt(n >= 0 ? c.Increment(r, static_cast<uint64_t>(n))
                          : c.Decrement(r, static_cast<uint64_t>(-n)));
  };
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}

std::string Key(int i) { return "key:" + std::to_string(i); }

// Bytes of anti-entropy frames (digest steps, key digests, repairs) sent by all live nodes.
uint64_t AntiEntropyBytes(Simulation& sim) {
  uint64_t total = 0;
  for (NodeId n : sim.live_nodes()) {
    const ReplicatorMetrics& m = sim.node(n).metrics();
    for (FrameKind k : {FrameKind::kDigestStep, FrameKind::kKeyDigests, FrameKind::kRepair}) {
      total += m.bytes_sent[static_cast<int>(k)];
    }
  }
  return total;
}

uint64_t Rounds(Simulation& sim) {
  uint64_t total = 0;
  for (NodeId n : sim.live_nodes()) total += sim.node(n).metrics().antientropy_count;
  return total;
}

// ---- 1 ----------------------------------------------------------------------------------------

void Throughput() {
  constexpr int kUpdates = 100000, kKeys = 10000, kNodes = 5;
  const auto start = Clock::now();
  auto sim = MakeSim(kNodes, 1, ReplicatorOptions{});
  Check(sim->SetLoss(0.10));
  std::mt19937_64 rng(7);
  std::vector<ReplicaId> replicas;
  for (NodeId n = 0; n < kNodes; ++n) replicas.push_back(sim->node(n).replica_id());
  // 100 updates every 10 ms of virtual time: 10 virtual seconds of load.
  for (int i = 0; i < kUpdates; ++i) {
    const NodeId n = rng() % kNodes;
    const int64_t d = static_cast<int64_t>(rng() % 9) - 4;
    Check(sim->Update(n, Key(static_cast<int>(rng() % kKeys)), CrdtType::kPNCounter,
                      PNAdd(replicas[n], d == 0 ? 1 : d))
              .status());
    if (i % 100 == 99) sim->RunFor(0.01);
  }
  const double load_wall = Since(start);
  const double load_virtual = sim->now_seconds();
  auto t = sim->RunUntilConverged(600.0);
  const double wall = Since(start);
  if (!t) std::printf("throughput: DID NOT CONVERGE\n");
  Line("throughput.updates", kUpdates, "updates");
  Line("throughput.load_wall", load_wall, "s");
  Line("throughput.converge_virtual_after_load", t.value_or(-1), "s (virtual)");
  Line("throughput.virtual_total", load_virtual + t.value_or(0), "s (virtual)");
  Line("throughput.wall_to_convergence", wall, "s (target < 10)");
  Line("throughput.updates_per_wall_second", kUpdates / wall, "updates/s");
  Line("throughput.frames_delivered", static_cast<double>(sim->network_stats().delivered),
       "frames");
  Line("throughput.bytes_delivered", static_cast<double>(sim->network_stats().bytes_delivered),
       "bytes");
}

// ---- 2 ----------------------------------------------------------------------------------------

void AntiEntropyCost() {
  constexpr int kKeys = 100000, kDiverged = 100;
  ReplicatorOptions o;
  o.anti_entropy_interval = 10.0;
  auto sim = MakeSim(2, 2, o);
  std::mt19937_64 rng(8);
  for (int i = 0; i < kKeys; ++i) {
    const NodeId n = i % 2;
    Check(sim->Update(n, Key(i), CrdtType::kPNCounter,
                      PNAdd(sim->node(n).replica_id(), 1 + static_cast<int64_t>(rng() % 100)))
              .status());
  }
  if (!sim->RunUntilConverged(120.0)) std::printf("anti-entropy: DID NOT CONVERGE\n");
  // Let a few rounds run in agreement and average them.
  sim->RunFor(o.anti_entropy_interval);
  uint64_t bytes0 = AntiEntropyBytes(*sim), rounds0 = Rounds(*sim);
  sim->RunFor(5 * o.anti_entropy_interval);
  const uint64_t rounds = Rounds(*sim) - rounds0;
  const double per_round = static_cast<double>(AntiEntropyBytes(*sim) - bytes0) /
                           static_cast<double>(rounds ? rounds : 1);
  Line("antientropy.keys", kKeys, "keys");
  Line("antientropy.agreement_rounds", static_cast<double>(rounds), "rounds");
  Line("antientropy.agreement_bytes_per_round", per_round, "bytes (target < 1024)");

  // 100 keys change on node 0 while its link to node 1 is down: the deltas are lost.
  Check(sim->SetLinkLoss(0, 1, 1.0));
  for (int i = 0; i < kDiverged; ++i) {
    Check(sim->Update(0, Key(static_cast<int>(rng() % kKeys)), CrdtType::kPNCounter,
                      PNAdd(sim->node(0).replica_id(), 5))
              .status());
  }
  sim->RunFor(1.0);  // flushed into the void (no round may start: none is due yet)
  sim->ResetLinks();
  size_t full_state = 0;
  for (const auto& [key, type] : sim->node(0).Keys()) {
    full_state += key.size() + EncodeAny(**sim->node(0).Get(key, type)).size();
  }
  bytes0 = AntiEntropyBytes(*sim);
  rounds0 = Rounds(*sim);
  auto t = sim->RunUntilConverged(60.0);
  if (!t) std::printf("anti-entropy repair: DID NOT CONVERGE\n");
  const double repair = static_cast<double>(AntiEntropyBytes(*sim) - bytes0);
  Line("antientropy.diverged_keys", kDiverged, "keys");
  Line("antientropy.repair_rounds", static_cast<double>(Rounds(*sim) - rounds0), "rounds");
  Line("antientropy.repair_bytes", repair, "bytes");
  Line("antientropy.full_state_bytes", static_cast<double>(full_state), "bytes");
  Line("antientropy.repair_vs_full_state", 100.0 * repair / static_cast<double>(full_state),
       "% (target < 5)");
}

// ---- 3 ----------------------------------------------------------------------------------------

void HealAfterPartition(int seeds) {
  constexpr int kKeys = 10000, kNodes = 5;
  const ReplicatorOptions o;  // the defaults: a round every 30 s
  double worst = 0, sum = 0, wall_sum = 0;
  int failed = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    auto sim = MakeSim(kNodes, 100 + seed, o);
    sim->RunFor(1.0);
    Check(sim->Partition({{0, 1}, {2, 3, 4}}));
    for (int i = 0; i < kKeys; ++i) {
      for (NodeId n : {NodeId{1}, NodeId{3}}) {
        Check(sim->Update(n, Key(i), CrdtType::kPNCounter, PNAdd(sim->node(n).replica_id(), 1))
                  .status());
      }
    }
    sim->RunFor(2.0);  // each side agrees within itself (deltas)
    sim->Heal();
    const auto start = Clock::now();
    auto t = sim->RunUntilConverged(20 * o.anti_entropy_interval);
    wall_sum += Since(start);
    if (!t) {
      ++failed;
      continue;
    }
    const double intervals = *t / o.anti_entropy_interval;
    worst = std::max(worst, intervals);
    sum += intervals;
  }
  Line("heal.keys_changed_per_side", kKeys, "keys");
  Line("heal.seeds", seeds, "runs");
  Line("heal.not_converged", failed, "runs");
  Line("heal.mean_intervals", sum / std::max(1, seeds - failed), "anti-entropy intervals");
  Line("heal.worst_intervals", worst, "anti-entropy intervals (target <= 3)");
  Line("heal.mean_wall_after_heal", wall_sum / seeds, "s");
}

}  // namespace
}  // namespace convergent

int main(int argc, char** argv) {
  int seeds = 10;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
      seeds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--seeds N]\n", argv[0]);
      return 2;
    }
  }
  convergent::Throughput();
  convergent::AntiEntropyCost();
  convergent::HealAfterPartition(seeds);
  return 0;
}
