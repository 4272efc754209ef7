// convergent_workloads: the CRDT peer workloads W1-W5 (../shared/bench/WORKLOADS.md) run on the
// C++ core, printed as the peers print them, one tab-separated line per metric:
//   peer  workload  metric  unit  min  median  max  params
// so that `benchmarks/compare` can set them side by side with other CRDT libraries as ratios.
//
// Environment: RUNS (default 5), W1_N .. W5_N (sizes), ONLY (e.g. "W1,W3": only those).
// Exits non-zero, with a message on stderr, when a validation fails.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "convergent/crdt/gcounter.h"
#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/mv_register.h"
#include "convergent/crdt/orset.h"
#include "convergent/ids.h"
#include "convergent/value.h"

namespace convergent::bench {
namespace {

constexpr const char* kPeer = "convergent-cpp";

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0') {
    std::fprintf(stderr, "%s=%s is not a non-negative integer\n", name, s);
    std::exit(2);
  }
  return v;
}

bool Wanted(const char* workload) {
  const char* only = std::getenv("ONLY");
  return only == nullptr || *only == '\0' ||
         std::string_view(only).find(workload) != std::string_view::npos;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "VALIDATION FAILED (%s): %s\n", kPeer, what.c_str());
  std::exit(1);
}

void Check(bool ok, const std::string& what) {
  if (!ok) Fail(what);
}

// A number as Rust's `{:.6e}` prints it (the reference peer): 2.800000e6, 1.500000e-3.
std::string Sci(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6e", x);
  std::string s = buf;
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;  // inf / nan
  std::string mantissa = s.substr(0, e);
  std::string exp = s.substr(e + 1);
  const bool negative = !exp.empty() && exp[0] == '-';
  if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) exp.erase(0, 1);
  exp.erase(0, std::min(exp.find_first_not_of('0'), exp.size() - 1));
  return mantissa + "e" + (negative ? "-" : "") + exp;
}

void Emit(const char* workload, const char* metric, const char* unit, std::vector<double> v,
          const std::string& params) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  std::printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", kPeer, workload, metric, unit,
              Sci(v.front()).c_str(), Sci(median).c_str(), Sci(v.back()).c_str(), params.c_str());
  std::fflush(stdout);
}

// "<prefix><i>", built with += (GCC 12 warns falsely, -Wrestrict, on "literal" + std::string).
std::string Name(const char* prefix, uint64_t i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

std::vector<Value> Elements(uint64_t n) {
  std::vector<Value> e;
  e.reserve(n);
  for (uint64_t i = 0; i < n; ++i) e.push_back(StringValue(Name("e", i)));
  return e;
}

std::string Str(uint64_t x) { return std::to_string(x); }

// ---- W1: ORSet local add/remove throughput ----
void W1(int runs, uint64_t n) {
  const uint64_t nrm = n / 2;
  const std::vector<Value> e = Elements(n);
  const ReplicaId a_id = ReplicaId::FromName("A");
  std::vector<double> total, adds, removes;
  for (int r = 0; r < runs; ++r) {
    ORSet a;
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) a.Add(a_id, e[i]);
    const auto t1 = Clock::now();
    for (uint64_t i = 0; i < nrm; ++i) a.Remove(e[i]);
    const auto t2 = Clock::now();
    Check(a.size() == n - nrm, "W1 |A| = " + Str(a.size()) + ", want " + Str(n - nrm));
    total.push_back(static_cast<double>(n + nrm) / Seconds(t0, t2));
    adds.push_back(static_cast<double>(n) / Seconds(t0, t1));
    removes.push_back(static_cast<double>(nrm) / Seconds(t1, t2));
  }
  const std::string p = "adds=" + Str(n) + ",removes=" + Str(nrm);
  Emit("W1", "ops_per_s", "ops/s", total, p);
  Emit("W1", "add_ops_per_s", "ops/s", adds, p);
  Emit("W1", "remove_ops_per_s", "ops/s", removes, p);
}

// ---- W2: ORSet full-state encode and merge ----
void W2(int runs, uint64_t n) {
  const uint64_t h = n / 2, q = n / 10, rq = n / 5;
  const std::vector<Value> e = Elements(n + h);
  const ReplicaId a_id = ReplicaId::FromName("A"), b_id = ReplicaId::FromName("B");
  std::vector<double> merge_ms, encode_ms, bytes;
  for (int r = 0; r < runs; ++r) {
    ORSet a, b;
    for (uint64_t i = 0; i < n; ++i) a.Add(a_id, e[i]);
    for (uint64_t i = h; i < n + h; ++i) b.Add(b_id, e[i]);
    for (uint64_t i = h - q; i < h - q + rq; ++i) a.Remove(e[i]);
    for (uint64_t i = n - q; i < n - q + rq; ++i) b.Remove(e[i]);
    const auto t0 = Clock::now();
    const std::string state = Encode(a);
    const auto t1 = Clock::now();
    b.Join(a);
    const auto t2 = Clock::now();
    Check(b.size() == n + h - 2 * q, "W2 |B| = " + Str(b.size()) + ", want " + Str(n + h - 2 * q));
    // The encoding must hold A: decoding it gives A back (not timed).
    const Result<ORSet> back = Decode<ORSet>(state);
    Check(back.ok() && back.value() == a, "W2 Decode(Encode(A)) != A");
    encode_ms.push_back(Seconds(t0, t1) * 1e3);
    merge_ms.push_back(Seconds(t1, t2) * 1e3);
    bytes.push_back(static_cast<double>(state.size()));
  }
  const std::string p = "n_per_replica=" + Str(n) + ",removes=" + Str(rq) + ",codec=protobuf";
  Emit("W2", "merge_ms", "ms", merge_ms, p);
  Emit("W2", "encode_ms", "ms", encode_ms, p);
  Emit("W2", "state_bytes_A", "bytes", bytes, p);
}

// ---- W3: PNCounter increments and 16-way merge ----
void W3(int runs, uint64_t n) {
  constexpr int kReplicas = 16;
  std::vector<ReplicaId> ids;
  for (int k = 0; k < kReplicas; ++k) ids.push_back(ReplicaId::FromName(Name("r", k)));
  std::vector<double> ops, merge_us;
  for (int r = 0; r < runs; ++r) {
    std::vector<PNCounter> reps(kReplicas);
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      const size_t k = i % kReplicas;
      reps[k].Increment(ids[k], 1);
    }
    const auto t1 = Clock::now();
    PNCounter sink;  // replica "sink": it only merges, so its id never enters its state
    for (const PNCounter& rep : reps) sink.Join(rep);
    const auto t2 = Clock::now();
    Check(sink.value() == static_cast<int64_t>(n),
          "W3 sink = " + std::to_string(sink.value()) + ", want " + Str(n));
    ops.push_back(static_cast<double>(n) / Seconds(t0, t1));
    merge_us.push_back(Seconds(t1, t2) * 1e6);
  }
  const std::string p = "incs=" + Str(n) + ",replicas=16";
  Emit("W3", "inc_ops_per_s", "ops/s", ops, p);
  Emit("W3", "merge16_us", "us", merge_us, p);
}

// ---- W4: the delta path: add -> delta -> encode -> decode -> merge ----
void W4(int runs, uint64_t n) {
  const std::vector<Value> e = Elements(n);
  const ReplicaId a_id = ReplicaId::FromName("A");
  std::vector<double> total_ms, bytes;
  for (int r = 0; r < runs; ++r) {
    ORSet a, b;
    uint64_t total = 0;
    bool decoded = true;
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      const ORSet d = a.Add(a_id, e[i]);
      const std::string s = Encode(d);
      total += s.size();
      Result<ORSet> d2 = Decode<ORSet>(s);
      if (!d2.ok()) {
        decoded = false;
        break;
      }
      b.Join(d2.value());
    }
    const auto t1 = Clock::now();
    Check(decoded, "W4 a delta did not decode");
    Check(b.size() == n, "W4 |B| = " + Str(b.size()) + ", want " + Str(n));
    Check(b.Elements() == a.Elements(), "W4 B.elements != A.elements");
    total_ms.push_back(Seconds(t0, t1) * 1e3);
    bytes.push_back(static_cast<double>(total));
  }
  const std::string p = "adds=" + Str(n) + ",codec=protobuf,delta=ORSet";
  Emit("W4", "total_ms", "ms", total_ms, p);
  Emit("W4", "delta_bytes_total", "bytes", bytes, p);
}

// ---- W5: registers, set + merge ----
// lww_set_merge_per_s is the workload as the peers run it: a register of 64-bit integers
// (BasicLWWRegister<int64_t>, as rust crdts' LWWReg<u64, u64>). lww_value_set_merge_per_s runs
// the same loop on the replicated LWWRegister, whose value is msgpack (a Value).
// As the rust peer's std::hint::black_box(a.clone()): a copy of the register that the compiler
// must assume is read and changed before each join, so the loop cannot be folded away.
template <typename T>
T Opaque(T v) {
  asm volatile("" : : "r"(&v) : "memory");
  return v;
}

void W5(int runs, uint64_t n) {
  const ReplicaId a_id = ReplicaId::FromName("A");
  std::vector<double> lww, lww_value, mv;
  for (int r = 0; r < runs; ++r) {
    BasicLWWRegister<int64_t> ta, tb;
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      ta.Set(a_id, static_cast<int64_t>(i), i + 1);
      tb.Join(Opaque(ta));
    }
    const auto t1 = Clock::now();
    Check(tb.value() == static_cast<int64_t>(n) - 1 && tb.timestamp() == n,
          "W5 LWW B.value != N-1");
    lww.push_back(static_cast<double>(n) / Seconds(t0, t1));

    LWWRegister a, b;
    const auto t2 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      a.Set(a_id, IntValue(static_cast<int64_t>(i)), i + 1);
      b.Join(Opaque(a));
    }
    const auto t3 = Clock::now();
    const Value want = IntValue(static_cast<int64_t>(n) - 1);
    Check(b.value() == want && b.timestamp() == n, "W5 LWW (Value) B.value != N-1");
    lww_value.push_back(static_cast<double>(n) / Seconds(t2, t3));

    MVRegister ma, mb;
    const auto t4 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      ma.Set(a_id, IntValue(static_cast<int64_t>(i)));
      mb.Join(ma);
    }
    const auto t5 = Clock::now();
    Check(mb.Values() == std::vector<Value>{want}, "W5 MV B.values != {N-1}");
    mv.push_back(static_cast<double>(n) / Seconds(t4, t5));
  }
  const std::string p = "iters=" + Str(n);
  Emit("W5", "lww_set_merge_per_s", "iters/s", lww, p + ",value=int64");
  Emit("W5", "lww_value_set_merge_per_s", "iters/s", lww_value, p + ",value=msgpack");
  Emit("W5", "mv_set_merge_per_s", "iters/s", mv, p);
}

}  // namespace
}  // namespace convergent::bench

int main() {
  using namespace convergent::bench;  // NOLINT(build/namespaces)
  const int runs = static_cast<int>(EnvU64("RUNS", 5));
  if (runs < 1) {
    std::fprintf(stderr, "RUNS must be >= 1\n");
    return 2;
  }
  if (Wanted("W1")) W1(runs, EnvU64("W1_N", 100000));
  if (Wanted("W2")) W2(runs, EnvU64("W2_N", 50000));
  if (Wanted("W3")) W3(runs, EnvU64("W3_N", 1000000));
  if (Wanted("W4")) W4(runs, EnvU64("W4_N", 10000));
  if (Wanted("W5")) W5(runs, EnvU64("W5_N", 1000000));
  return 0;
}
