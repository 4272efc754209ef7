// Test-only support for the node tests (node_test.cc, node_snapshot_test.cc): bounded polling of
// a condition, for results that real threads and sockets produce asynchronously.
//
// Thread safety: none needed; call from the test's thread.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

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

}  // namespace convergent::test
