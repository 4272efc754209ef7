// What the simulator benchmarks (pruning.cc, tombstones.cc) share: a formed simulation, a
// GCounter increment, and a "--name N" argument.
//
// Thread safety: none needed (single-threaded programs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "convergent/simulation.h"

namespace convergent::bench {

// A simulation with `options` whose nodes have met (nullptr, reported on stderr, otherwise).
inline std::unique_ptr<Simulation> FormedSimulation(SimulationOptions options) {
  auto made = Simulation::Create(std::move(options));
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
    return nullptr;
  }
  if (!(*made)->RunUntilFormed(10.0)) {
    std::fprintf(stderr, "the simulated nodes did not meet within 10 s\n");
    return nullptr;
  }
  return std::move(made).value();
}

inline Replicator::Mutation Increment(ReplicaId r) {
  return [=](AnyCrdt& v) -> Result<AnyCrdt> { return AnyCrdt(v.get_if<GCounter>()->Increment(r)); };
}

// The value of "--name N" among the arguments, if positive; else `fallback`.
inline int IntArgument(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], name) == 0) {
      const int n = std::atoi(argv[i + 1]);
      return n > 0 ? n : fallback;
    }
  }
  return fallback;
}

}  // namespace convergent::bench
