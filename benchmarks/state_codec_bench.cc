// Encoding and decoding whole ORSet states, the cost of a full-state repair or catch-up of a
// large key: 100,000 elements of 21 bytes (the shape of benchmarks/large_key.py's set), one dot
// each, written by one replica. Items are elements.
//
//   build/bench/benchmarks/state_codec_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "convergent/codec.h"
#include "convergent/crdt/orset.h"

namespace convergent {
namespace {

constexpr int kElements = 100000;

const ORSet& State() {
  static const ORSet s = [] {
    ORSet out;
    const ReplicaId writer = ReplicaId::FromName("writer");
    char name[32];
    for (int i = 0; i < kElements; ++i) {
      std::snprintf(name, sizeof name, "element-%012d", i);
      out.Add(writer, StringValue(name));
    }
    return out;
  }();
  return s;
}

void BM_EncodeState(benchmark::State& state) {
  const ORSet& s = State();
  for (auto _ : state) benchmark::DoNotOptimize(Encode(s));
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_EncodeState)->Unit(benchmark::kMillisecond);

void BM_DecodeState(benchmark::State& state) {
  const std::string bytes = Encode(State());
  for (auto _ : state) benchmark::DoNotOptimize(Decode<ORSet>(bytes));
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_DecodeState)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace convergent
