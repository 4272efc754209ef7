// The four steps of the delta path (workload W4: add -> encode -> decode -> join), timed one by
// one on one-element ORSet deltas, to see where the time of the whole loop goes.
//
//   build/bench/benchmarks/delta_path_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "convergent/codec.h"
#include "convergent/crdt/orset.h"

namespace convergent {
namespace {

constexpr int kElements = 10000;  // W4's N: each run adds this many, then starts over

std::vector<Value> Elements() {
  std::vector<Value> e;
  e.reserve(kElements);
  for (int i = 0; i < kElements; ++i) e.push_back(StringValue("e" + std::to_string(i)));
  return e;
}

// The deltas of adding every element to an empty set, as values and encoded.
struct Deltas {
  std::vector<ORSet> values;
  std::vector<std::string> bytes;
};
const Deltas& AddDeltas() {
  static const Deltas d = [] {
    Deltas out;
    ORSet a;
    for (const Value& v : Elements()) {
      out.values.push_back(a.Add(ReplicaId::FromName("A"), v));
      out.bytes.push_back(Encode(out.values.back()));
    }
    return out;
  }();
  return d;
}

void BM_Add(benchmark::State& state) {
  const std::vector<Value> e = Elements();
  const ReplicaId a_id = ReplicaId::FromName("A");
  for (auto _ : state) {
    state.PauseTiming();
    ORSet a;
    state.ResumeTiming();
    for (const Value& v : e) benchmark::DoNotOptimize(a.Add(a_id, v));
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_Add);

void BM_EncodeDelta(benchmark::State& state) {
  const Deltas& d = AddDeltas();
  for (auto _ : state) {
    for (const ORSet& delta : d.values) benchmark::DoNotOptimize(Encode(delta));
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_EncodeDelta);

void BM_DecodeDelta(benchmark::State& state) {
  const Deltas& d = AddDeltas();
  for (auto _ : state) {
    for (const std::string& s : d.bytes) benchmark::DoNotOptimize(Decode<ORSet>(s));
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_DecodeDelta);

void BM_JoinDelta(benchmark::State& state) {
  const Deltas& d = AddDeltas();
  for (auto _ : state) {
    state.PauseTiming();
    ORSet b;
    state.ResumeTiming();
    for (const ORSet& delta : d.values) b.Join(delta);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_JoinDelta);

}  // namespace
}  // namespace convergent

namespace convergent {
namespace {

// The whole W4 loop, for profiling it without W4's validation.
void BM_DeltaPath(benchmark::State& state) {
  const std::vector<Value> e = Elements();
  const ReplicaId a_id = ReplicaId::FromName("A");
  for (auto _ : state) {
    state.PauseTiming();
    auto a = std::make_unique<ORSet>();
    auto b = std::make_unique<ORSet>();
    state.ResumeTiming();
    for (const Value& v : e) {
      const ORSet d = a->Add(a_id, v);
      const std::string s = Encode(d);
      Result<ORSet> d2 = Decode<ORSet>(s);
      b->Join(d2.value());
    }
    state.PauseTiming();
    a.reset();
    b.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_DeltaPath);

}  // namespace
}  // namespace convergent
