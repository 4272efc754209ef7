// Test-only support for the node tests (node_test.cc, node_snapshot_test.cc, node_tls_test.cc):
// fast node options, bounded polling of a condition, and reads and writes of GCounter keys.
// Results that real threads and sockets produce asynchronously are polled, never slept for.
//
// Thread safety: call from the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "convergent/node.h"
#include "replication_test_support.h"

namespace convergent::test {

// Polls `done` every 10 ms for up to `seconds`; its last answer.
inline bool WaitFor(const std::function<bool()>& done, double seconds = 20) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// A node on `url` with timers short enough for tests (heartbeats 50 ms, failures after 0.5 s,
// flushes every 10 ms, anti-entropy every 0.2 s).
inline NodeOptions FastOptions(const std::string& url, std::vector<std::string> seeds = {}) {
  NodeOptions o;
  o.transport.listen = url;
  o.seeds = std::move(seeds);
  o.heartbeat_interval = 0.05;
  o.failure_timeout = 0.5;
  o.replicator.delta_flush_interval = 0.01;
  o.replicator.anti_entropy_interval = 0.2;
  o.replicator.coordination_timeout = 2.0;
  return o;
}

// The members `n` finds reachable, itself included.
inline size_t Reachable(Node& n) {
  size_t r = 0;
  for (const MemberView& m : n.Members()) r += m.reachable ? 1 : 0;
  return r;
}

// The GCounter `key` on `n` (0 when absent).
inline uint64_t GValue(Node& n, const std::string& key) {
  uint64_t v = 0;
  EXPECT_TRUE(n.Run([&](Replicator& r, TimeMicros) {
                 auto got = r.Get(key, CrdtType::kGCounter);
                 if (got.ok() && *got != nullptr) v = (*got)->get_if<GCounter>()->value();
               }).ok());
  return v;
}

// Adds `by` to the GCounter `key` on `n`, locally.
inline void Increment(Node& n, const std::string& key, uint64_t by = 1) {
  auto r = n.Request([&](Replicator& rep, TimeMicros now) {
    return rep.Update(key, CrdtType::kGCounter, GIncrement(n.replica_id(), by), Consistency::kLocal,
                      now);
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

}  // namespace convergent::test
