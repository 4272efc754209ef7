// Encoding and decoding whole ORSet states, the cost of a full-state repair or catch-up of a
// large key: 100,000 elements of 21 bytes (the shape of benchmarks/large_key.py's set), one dot
// each, written by one replica, in ascending order or shuffled (the encoder sorts the elements).
// Items are elements.
//
//   build/bench/benchmarks/state_codec_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "convergent/codec.h"
#include "convergent/crdt/orset.h"

namespace convergent {
namespace {

constexpr int kElements = 100000;

ORSet Build(bool shuffled) {
  ORSet out;
  const ReplicaId writer = ReplicaId::FromName("writer");
  char name[32];
  for (int i = 0; i < kElements; ++i) {
    const int n = shuffled ? static_cast<int>((int64_t{i} * 7919) % kElements) : i;  // 7919: prime
    std::snprintf(name, sizeof name, "element-%012d", n);
    out.Add(writer, StringValue(name));
  }
  return out;
}
const ORSet& State() {
  static const ORSet s = Build(false);
  return s;
}

void BM_EncodeState(benchmark::State& state) {
  const ORSet& s = State();
  for (auto _ : state) benchmark::DoNotOptimize(Encode(s));
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_EncodeState)->Unit(benchmark::kMillisecond);

void BM_EncodeShuffledState(benchmark::State& state) {
  const ORSet s = Build(true);
  for (auto _ : state) benchmark::DoNotOptimize(Encode(s));
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_EncodeShuffledState)->Unit(benchmark::kMillisecond);

void BM_DecodeState(benchmark::State& state) {
  const std::string bytes = Encode(State());
  for (auto _ : state) benchmark::DoNotOptimize(Decode<ORSet>(bytes));
  state.SetItemsProcessed(state.iterations() * kElements);
}
BENCHMARK(BM_DecodeState)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace convergent
