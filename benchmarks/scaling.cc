// convergent_scaling: how the cost of replication grows (benchmarks/scaling runs it and plots the
// results). A plain program printing one tab-separated line per measurement:
//   dimension  x  metric  value
// Dimensions, each point on fresh nodes; the updates timed are the same in number at every point,
// so that the cost per update shows how it grows with the store, the key or the value:
//   keys      a writer node replicated to a second node (both in this process, inproc transport)
//             whose store holds K PNCounter keys (written first, untimed); then 100,000 new keys,
//             one increment each: updates/s until the second node holds them all, bytes the
//             writer sent per update, resident bytes per key per node (of the K).
//   elements  the same with one ORSet key of E elements; then 10,000 more elements added to it:
//             adds/s, bytes per add, resident bytes per element per node (of the E).
//   value     10,000 LWWRegister keys set once to a string of S bytes (untimed), then 10,000
//             more: updates/s, bytes per update, resident bytes per key per node.
//   nodes     N simulated nodes (the whole node core on the simulator's network), 20,000
//             PNCounter updates over 2,000 keys spread over the nodes, run to convergence: wall
//             updates/s of the simulation, bytes delivered per update, virtual seconds.
// Environment: MAX_KEYS (default 10000000), MAX_ELEMENTS (default 1000000), MAX_NODES (default
// 50), ONLY (a dimension).
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "convergent/codec.h"
#include "convergent/node.h"
#include "convergent/simulation.h"

namespace convergent {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void Emit(const char* dimension, double x, const char* metric, double value) {
  std::printf("%s\t%.0f\t%s\t%.6g\n", dimension, x, metric, value);
  std::fflush(stdout);
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* s = std::getenv(name);
  return s != nullptr && *s != '\0' ? std::strtoull(s, nullptr, 10) : fallback;
}

bool Wanted(const char* dimension) {
  const char* only = std::getenv("ONLY");
  return only == nullptr || *only == '\0' || std::string(only) == dimension;
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A writer node and a second node that joins it (inproc: no kernel in the way).
struct Pair {
  std::unique_ptr<Node> writer, replica;

  explicit Pair(int run) {
    const std::string base = "inproc://scaling-" + std::to_string(run);
    writer = Start(base + "-w", {});
    replica = Start(base + "-r", {writer->bus_url()});
    const auto t0 = Clock::now();
    while (Reachable(*writer) < 2 || Reachable(*replica) < 2) {
      if (Since(t0) > 30) Die("the two nodes did not find each other");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~Pair() {
    replica->Stop(false);
    writer->Stop(false);
  }

  static std::unique_ptr<Node> Start(const std::string& url, std::vector<std::string> seeds) {
    NodeOptions o;
    o.transport.listen = url;
    o.seeds = std::move(seeds);
    o.heartbeat_interval = 0.1;
    o.replicator.delta_flush_interval = 0.005;
    auto node = Node::Start(o);
    if (!node.ok()) Die(node.status().ToString().c_str());
    return std::move(node).value();
  }
  static size_t Reachable(Node& n) {
    size_t r = 0;
    for (const MemberView& m : n.Members()) r += m.reachable ? 1 : 0;
    return r;
  }
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "convergent_scaling: %s\n", what);
    std::exit(1);
  }
};

double Metric(Node& n, const char* name) { return n.Metrics().at(name); }

// An update of the writer: the i-th of a phase.
using UpdateFn = std::function<void(Replicator&, uint64_t i, TimeMicros now)>;

// Applies updates [from, to) on the writer, 1,000 per request, then waits until `arrived`.
void WriteAndWait(Pair& pair, uint64_t from, uint64_t to, const UpdateFn& update,
                  const std::function<bool(Node&)>& arrived) {
  const auto t0 = Clock::now();
  for (uint64_t i = from; i < to; i += 1000) {
    pair.writer->Request([&](Replicator& r, TimeMicros now) {
      for (uint64_t j = i; j < std::min<uint64_t>(i + 1000, to); ++j) update(r, j, now);
      return Result<RequestId>(RequestId{0});
    });
  }
  while (!arrived(*pair.replica)) {
    if (Since(t0) > 900) Pair::Die("the updates did not all arrive in 15 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// On a fresh pair: `items` updates first (untimed; the resident bytes per item and node are
// measured after them), then `timed` more: their rate and the bytes the writer sent per update.
// `arrived(node, n)`: the node holds the first n updates.
void Measure(const char* dimension, double x, uint64_t items, uint64_t timed,
             const UpdateFn& update, const std::function<bool(Node&, uint64_t)>& arrived) {
  malloc_trim(0);
  const size_t rss0 = ResidentBytes();
  static int run = 0;
  Pair pair(run++);
  WriteAndWait(pair, 0, items, update, [&](Node& n) { return arrived(n, items); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the last flushes free buffers
  malloc_trim(0);
  const double rss = static_cast<double>(ResidentBytes()) - static_cast<double>(rss0);
  const double sent0 = Metric(*pair.writer, "convergent.transport.bytes.sent");
  const auto t0 = Clock::now();
  WriteAndWait(pair, items, items + timed, update,
               [&](Node& n) { return arrived(n, items + timed); });
  const double seconds = Since(t0);
  const double sent = Metric(*pair.writer, "convergent.transport.bytes.sent") - sent0;
  Emit(dimension, x, "updates_per_s", static_cast<double>(timed) / seconds);
  Emit(dimension, x, "bytes_per_update", sent / static_cast<double>(timed));
  if (items > 0)
    Emit(dimension, x, "resident_bytes_per_item", rss / 2 / static_cast<double>(items));
}

Replicator::Mutation Increment(ReplicaId r) {
  return [r](AnyCrdt& v) -> Result<AnyCrdt> {
    return AnyCrdt(v.get_if<PNCounter>()->Increment(r, 1));
  };
}

void Keys(uint64_t max_keys) {
  for (uint64_t k = 1000; k <= max_keys; k *= 10) {
    ReplicaId me{};
    Measure(
        "keys", static_cast<double>(k), k, 100000,
        [&](Replicator& r, uint64_t i, TimeMicros now) {
          if (me.value == 0) me = r.replica_id();
          r.Update("k" + std::to_string(i), CrdtType::kPNCounter, Increment(me),
                   Consistency::kLocal, now);
        },
        [&](Node& n, uint64_t count) {
          return Metric(n, "crdt.replicator.store.size") >= static_cast<double>(count);
        });
  }
}

size_t SetSize(Node& n, const std::string& key) {
  size_t size = 0;
  n.Run([&](Replicator& r, TimeMicros) {
    auto v = r.Get(key, CrdtType::kORSet);
    if (v.ok() && *v != nullptr) size = (*v)->get_if<ORSet>()->size();
  });
  return size;
}

void Elements(uint64_t max_elements) {
  for (uint64_t e = 1; e <= max_elements; e *= 10) {
    ReplicaId me{};
    Measure(
        "elements", static_cast<double>(e), e, 10000,
        [&](Replicator& r, uint64_t i, TimeMicros now) {
          if (me.value == 0) me = r.replica_id();
          const ReplicaId writer = me;
          r.Update(
              "set", CrdtType::kORSet,
              [&](AnyCrdt& v) -> Result<AnyCrdt> {
                return AnyCrdt(
                    v.get_if<ORSet>()->Add(writer, StringValue("e" + std::to_string(i))));
              },
              Consistency::kLocal, now);
        },
        [&](Node& n, uint64_t count) { return SetSize(n, "set") >= count; });
  }
}

void ValueSize() {
  constexpr uint64_t kKeys = 10000;
  for (uint64_t s = 16; s <= 65536; s *= 4) {
    const Value value = StringValue(std::string(s, 'v'));
    ReplicaId me{};
    Measure(
        "value", static_cast<double>(s), kKeys, kKeys,
        [&](Replicator& r, uint64_t i, TimeMicros now) {
          if (me.value == 0) me = r.replica_id();
          const ReplicaId writer = me;
          r.Update(
              "r" + std::to_string(i), CrdtType::kLWWRegister,
              [&](AnyCrdt& v) -> Result<AnyCrdt> {
                return AnyCrdt(
                    v.get_if<LWWRegister>()->Set(writer, value, static_cast<uint64_t>(now)));
              },
              Consistency::kLocal, now);
        },
        [&](Node& n, uint64_t count) {
          return Metric(n, "crdt.replicator.store.size") >= static_cast<double>(count);
        });
  }
}

void Nodes(uint64_t max_nodes) {
  constexpr int kUpdates = 20000, kKeys = 2000;
  for (uint64_t n : {3, 5, 10, 20, 50, 100}) {
    if (n > max_nodes) break;
    SimulationOptions so;
    so.nodes = static_cast<int>(n);
    so.seed = 1;
    so.latency = 0.001;
    so.replicator.anti_entropy_interval = 5.0;
    auto created = Simulation::Create(so);
    if (!created.ok()) Pair::Die(created.status().ToString().c_str());
    Simulation& sim = **created;
    if (!sim.RunUntilFormed(60)) Pair::Die("the simulated cluster did not form");
    const uint64_t bytes0 = sim.network_stats().bytes_delivered;
    const double v0 = sim.now_seconds();
    const auto t0 = Clock::now();
    for (int i = 0; i < kUpdates; ++i) {
      const NodeId id = static_cast<NodeId>(i % static_cast<int>(n));
      const ReplicaId me = sim.node(id).replica_id();
      (void)sim.Request(id, [&](Replicator& r, TimeMicros now) {
        return r.Update("k" + std::to_string(i % kKeys), CrdtType::kPNCounter, Increment(me),
                        Consistency::kLocal, now);
      });
      if (i % 100 == 99) sim.RunFor(0.001);
    }
    if (!sim.RunUntilConverged(600)) Pair::Die("the simulated cluster did not converge");
    const double seconds = Since(t0);
    const double bytes = static_cast<double>(sim.network_stats().bytes_delivered - bytes0);
    Emit("nodes", static_cast<double>(n), "updates_per_s", kUpdates / seconds);
    Emit("nodes", static_cast<double>(n), "bytes_per_update", bytes / kUpdates);
    Emit("nodes", static_cast<double>(n), "virtual_seconds", sim.now_seconds() - v0);
  }
}

}  // namespace
}  // namespace convergent

int main() {
  using namespace convergent;  // NOLINT(build/namespaces)
  if (Wanted("keys")) Keys(EnvOr("MAX_KEYS", 10000000));
  if (Wanted("elements")) Elements(EnvOr("MAX_ELEMENTS", 1000000));
  if (Wanted("value")) ValueSize();
  if (Wanted("nodes")) Nodes(EnvOr("MAX_NODES", 50));
  return 0;
}
