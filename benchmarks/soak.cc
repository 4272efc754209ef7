// convergent_soak: the chaos runs of the simulation tests (tests_cpp/chaos_workload.h: the whole
// node core under loss, duplication, partitions, crashes and restarts from damaged snapshots,
// wall-clock steps) over many seeds, for long soaks outside the unit tests. Prints every violation,
// a progress line every 500 seeds and a summary; exits 1 when any seed failed. With
// --datacenters, the chaos runs of datacenters instead (tests_cpp/datacenter_chaos.h: WAN cuts and
// loss, crashes of gateways and others, DC-level writes checked at their acknowledgement).
//
// Usage: convergent_soak [--datacenters] [--seeds N] [--start S] [--ops K]
//   N seeds from S (default 2000 from 0), K operations per run (default 400, as the tests; 300
//   with --datacenters).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "chaos_workload.h"
#include "datacenter_chaos.h"

namespace {

// Prints a run's failures (counting the run as failed when it has any) and, every 500 runs, the
// progress.
void Tally(const std::vector<std::string>& failures, uint64_t done, uint64_t& failed) {
  if (!failures.empty()) {
    ++failed;
    for (const std::string& f : failures) std::printf("FAIL %s\n", f.c_str());
  }
  if (done % 500 == 0) {
    std::printf("... %llu seeds, %llu failed\n", static_cast<unsigned long long>(done),
                static_cast<unsigned long long>(failed));
    std::fflush(stdout);
  }
}

// The datacenter runs: failures, acknowledgements checked.
int SoakDatacenters(uint64_t start, uint64_t seeds, int ops) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t failed = 0, acks_checked = 0;
  for (uint64_t seed = start; seed < start + seeds; ++seed) {
    convergent::test::DatacenterChaos run(seed);
    run.Run(ops);
    acks_checked += run.acks_checked();
    Tally(run.failures(), seed - start + 1, failed);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "soak --datacenters: seeds %llu..%llu, %d ops each: %llu failed; %llu DC-level "
      "acknowledgements checked against the replicas; %.1f s wall\n",
      static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + seeds - 1),
      ops, static_cast<unsigned long long>(failed), static_cast<unsigned long long>(acks_checked),
      wall);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 2000, start = 0;
  int ops = 0;  // the default of the mode
  bool datacenters = false;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--datacenters") == 0) {
      datacenters = true;
    } else if (std::strcmp(argv[i], "--seeds") == 0 && has_value) {
      seeds = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--start") == 0 && has_value) {
      start = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--ops") == 0 && has_value) {
      ops = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--datacenters] [--seeds N] [--start S] [--ops K]\n",
                   argv[0]);
      return 2;
    }
  }
  if (datacenters) return SoakDatacenters(start, seeds, ops > 0 ? ops : 300);
  if (ops == 0) ops = 400;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t failed = 0, acks_checked = 0, reads_checked = 0, majority_down = 0;
  double worst_heal = 0;
  for (uint64_t seed = start; seed < start + seeds; ++seed) {
    convergent::test::ChaosRun run(seed);
    run.Script(ops);
    run.Settle();
    run.Check();
    worst_heal = std::max(worst_heal, run.converged_after().value_or(0));
    acks_checked += run.acks_checked();
    reads_checked += run.reads_checked();
    majority_down += run.majority_down();
    Tally(run.failures(), seed - start + 1, failed);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "soak: seeds %llu..%llu, %d ops each: %llu failed; %llu acknowledgements checked against "
      "the replicas, %llu coordinated reads against the acknowledged writes; %llu crashes left "
      "no live majority; worst convergence after heal %.2f virtual s; %.1f s wall\n",
      static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + seeds - 1),
      ops, static_cast<unsigned long long>(failed), static_cast<unsigned long long>(acks_checked),
      static_cast<unsigned long long>(reads_checked),
      static_cast<unsigned long long>(majority_down), worst_heal, wall);
  return failed == 0 ? 0 : 1;
}
