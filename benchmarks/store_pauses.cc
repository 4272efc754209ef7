// store_pauses: how long a node's loop stops while its key store grows (a plain program, "name
// value unit" lines). Adds N new keys (default 2,200,000: past the digest tree's last deepening
// at 2,097,152) to a KeyStore, one GCounter each, as a local update or a merge does, and times
// each add. Reported: the median and 99.9th percentile add, and every add that took more than
// 10 ms with what happened during it: the digest tree deepening (KeyStore::DeepenTree, all keys'
// leaves rebuilt), the key map growing (std::unordered_map rehashes every key), or neither. A stop
// of the loop delays heartbeats and frames: compare it with failure_timeout (3 s by default).
//
// Usage: store_pauses [N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "convergent/crdt/gcounter.h"
#include "replica/key_store.h"

int main(int argc, char** argv) {
  using convergent::AnyCrdt;
  using Clock = std::chrono::steady_clock;
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 2'200'000;
  convergent::ReplicatorMetrics metrics;
  std::vector<convergent::ReplicaEvent> events;
  convergent::internal::KeyStore store{2, size_t{4} << 20, metrics, events};
  convergent::GCounter counter;
  counter.Increment(convergent::ReplicaId{1}, 1);
  std::vector<double> ms;
  ms.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int depth = store.tree().depth();
    const size_t buckets = store.keys().bucket_count();
    const auto t0 = Clock::now();
    auto [name, e] = store.AddKey("key-" + std::to_string(i), AnyCrdt(counter));
    store.MarkChanged(*name, *e, std::nullopt);
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ms.push_back(took);
    if (took > 10) {
      const bool deepened = store.tree().depth() != depth;
      const bool rehashed = store.keys().bucket_count() != buckets;
      std::printf("pause_at_%zu_keys %.1f ms (%s)\n", i + 1, took,
                  deepened && rehashed ? "the digest tree deepened and the key map grew"
                  : deepened           ? "the digest tree deepened"
                  : rehashed           ? "the key map grew"
                                       : "neither: the machine");
    }
    if (i % 1024 == 1023) store.RefreshDigests();  // as anti-entropy rounds do
  }
  std::sort(ms.begin(), ms.end());
  std::printf("add_median %.3f us\n", ms[n / 2] * 1000);
  std::printf("add_p99.9 %.3f us\n", ms[n * 999 / 1000] * 1000);
  std::printf("add_max %.1f ms\n", ms.back());
  return 0;
}
