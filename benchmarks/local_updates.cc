// local_updates: the C++ half of the Python overhead benchmark (benchmarks/python_overhead).
// One node (inproc, no peers) applies N local updates, one request per update, round robin over
// K PNCounter keys: Node::Request -> Replicator::Update -> PNCounter::Increment, as
// benchmarks/local_updates.py does through cv.Node. Prints the median rate of RUNS runs:
//   local_updates cpp <updates/s>
// Environment: N (default 200000), K (default 10000), RUNS (default 5).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "convergent/crdt/any_crdt.h"
#include "convergent/node.h"

namespace {

using convergent::AnyCrdt;
using convergent::PNCounter;

long EnvOr(const char* name, long fallback) {
  const char* s = std::getenv(name);
  return s != nullptr && *s != '\0' ? std::atol(s) : fallback;
}

}  // namespace

int main() {
  using namespace convergent;  // NOLINT(build/namespaces)
  const long n = EnvOr("N", 200000), k = EnvOr("K", 10000), runs = EnvOr("RUNS", 5);
  if (n <= 0 || k <= 0 || runs <= 0) {
    std::fprintf(stderr, "N, K and RUNS must be positive\n");
    return 2;
  }
  std::vector<std::string> keys;
  for (long i = 0; i < k; ++i) keys.push_back("k" + std::to_string(i));
  std::vector<double> rates;
  for (long run = 0; run < runs; ++run) {
    NodeOptions o;
    o.transport.listen = "inproc://local-updates-" + std::to_string(run);
    Result<std::unique_ptr<Node>> started = Node::Start(o);
    if (!started.ok()) {
      std::fprintf(stderr, "node: %s\n", started.status().ToString().c_str());
      return 1;
    }
    Node& node = *started.value();
    const ReplicaId me = node.replica_id();
    const Replicator::Mutation increment = [me](AnyCrdt& v) -> Result<AnyCrdt> {
      return AnyCrdt(v.get_if<PNCounter>()->Increment(me, 1));
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      const std::string& key = keys[static_cast<size_t>(i % k)];
      Result<RequestId> r = node.Request([&](Replicator& rep, TimeMicros now) {
        return rep.Update(key, CrdtType::kPNCounter, increment, Consistency::kLocal, now);
      });
      if (!r.ok()) {
        std::fprintf(stderr, "update: %s\n", r.status().ToString().c_str());
        return 1;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    int64_t total = 0;  // validation, untimed
    (void)node.Run([&](Replicator& rep, TimeMicros) {
      for (const std::string& key : keys) {
        auto v = rep.Get(key, CrdtType::kPNCounter);
        if (v.ok() && *v != nullptr) total += (*v)->get_if<PNCounter>()->value();
      }
    });
    if (total != n) {
      std::fprintf(stderr, "VALIDATION FAILED: total %lld, want %ld\n",
                   static_cast<long long>(total), n);
      return 1;
    }
    rates.push_back(static_cast<double>(n) / std::chrono::duration<double>(t1 - t0).count());
    node.Stop(false);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("local_updates cpp %.0f\n", rates[rates.size() / 2]);
  return 0;
}
