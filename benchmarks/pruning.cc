// pruning: the removed-replica pruning target of issue 13, measured in the deterministic
// simulator (a plain program, "name value unit" lines). 3 nodes; node 2 is restarted again and
// again, each life adding one element to an ORSet and 1 to a GCounter (and after 1,000 lives the
// set holds 1,000 elements). Then, after the pruning delays, the encoded sizes of the counter and
// the set, beside the same set written by 3 live replicas in the same run (the baseline). The
// count is checked exact after every life, on every node.
//
// Usage: pruning [--lives N] (default 1000).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "convergent/codec.h"
#include "convergent/simulation.h"
#include "sim_bench_support.h"

namespace convergent {
namespace {

SimulationOptions Options() {
  SimulationOptions so;
  so.nodes = 3;
  so.seed = 7;
  so.replicator.anti_entropy_interval = 0.5;
  so.replicator.delta_flush_interval = 0.05;
  so.replicator.pruning_interval = 0.5;
  so.replicator.max_pruning_dissemination = 1.0;
  so.node.heartbeat_interval = 0.1;
  so.node.failure_timeout = 0.5;
  return so;
}

Replicator::Mutation Add(ReplicaId r, int64_t element) {
  return [=](AnyCrdt& v) -> Result<AnyCrdt> {
    return AnyCrdt(v.get_if<ORSet>()->Add(r, IntValue(element)));
  };
}

size_t EncodedSize(Simulation& sim, NodeId n, const char* key, CrdtType type) {
  auto v = sim.node(n).Get(key, type);
  return v.ok() && *v != nullptr ? EncodeAny(**v).size() : 0;
}

int Run(int lives) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Simulation> made = bench::FormedSimulation(Options());
  if (made == nullptr) return 1;
  Simulation& sim = *made;
  uint64_t written = 0;
  for (int life = 0; life < lives; ++life) {
    const ReplicaId r = sim.node(2).replica_id();
    if (!sim.Update(2, "set", CrdtType::kORSet, Add(r, life)).ok() ||
        !sim.Update(2, "count", CrdtType::kGCounter, bench::Increment(r)).ok()) {
      return 1;
    }
    ++written;
    // The life's writes reach everyone (as an acknowledged write would) before it ends; the
    // count is exact on every node, whatever prunings are under way.
    if (!sim.RunUntilConverged(10.0)) return 1;
    for (NodeId n : sim.live_nodes()) {
      auto v = sim.node(n).Get("count", CrdtType::kGCounter);
      const uint64_t have = v.ok() && *v != nullptr ? (*v)->get_if<GCounter>()->value() : 0;
      if (have != written) {
        std::fprintf(stderr, "life %d: node %llu counts %llu of %llu written\n", life,
                     static_cast<unsigned long long>(n), static_cast<unsigned long long>(have),
                     static_cast<unsigned long long>(written));
        return 1;
      }
    }
    sim.Restart(2);
    sim.RunFor(0.3);
  }
  sim.RunFor(10.0);  // the last lives' pruning delays
  if (!sim.RunUntilConverged(30.0)) return 1;
  for (NodeId n = 0; n < 3; ++n) {
    auto v = sim.node(n).Get("count", CrdtType::kGCounter);
    if (!v.ok() || *v == nullptr || (*v)->get_if<GCounter>()->value() != written) {
      std::fprintf(stderr, "node %llu: the count is not exact\n",
                   static_cast<unsigned long long>(n));
      return 1;
    }
  }
  const size_t counter = EncodedSize(sim, 0, "count", CrdtType::kGCounter);
  const size_t set = EncodedSize(sim, 0, "set", CrdtType::kORSet);

  // The baseline: the same elements written by the 3 live replicas, round robin.
  std::unique_ptr<Simulation> base_made = bench::FormedSimulation(Options());
  if (base_made == nullptr) return 1;
  Simulation& base = *base_made;
  for (int e = 0; e < lives; ++e) {
    const NodeId n = static_cast<NodeId>(e % 3);
    if (!base.Update(n, "set", CrdtType::kORSet, Add(base.node(n).replica_id(), e)).ok()) return 1;
  }
  if (!base.RunUntilConverged(30.0)) return 1;
  const size_t baseline = EncodedSize(base, 0, "set", CrdtType::kORSet);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("lives %d\n", lives);
  std::printf("gcounter_bytes %zu B (target < 100)\n", counter);
  std::printf("orset_bytes %zu B\n", set);
  std::printf("orset_bytes_3_live_replicas %zu B\n", baseline);
  std::printf("orset_ratio %.3f x (target <= 1.2)\n",
              baseline == 0 ? 0.0 : static_cast<double>(set) / static_cast<double>(baseline));
  std::printf("prunings_performed %.0f keys\n",
              sim.NodeMetrics(0).at("crdt.replicator.pruning.performed.count"));
  std::printf("wall %.1f s\n", wall);
  return 0;
}

}  // namespace
}  // namespace convergent

int main(int argc, char** argv) {
  return convergent::Run(convergent::bench::IntArgument(argc, argv, "--lives", 1000));
}
