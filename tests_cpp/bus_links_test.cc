// BusLinks: which of two bus connections between a pair of nodes each end hangs up. Both ends
// run the same rule on what they hear, so exactly one connection survives.
#include "node/bus_links.h"

#include <gtest/gtest.h>

#include <optional>

namespace convergent::internal {
namespace {

constexpr TimeMicros kMs = 1000;

TEST(BusLinksTest, OneConnectionIsNeverRedundant) {
  BusLinks l(1, 500 * kMs);
  for (TimeMicros t = 0; t < 10; ++t) EXPECT_EQ(l.Heard(2, 7, true, t * 100 * kMs), std::nullopt);
}

// Node 1 (smaller id) dialed pipe 7 to node 2; node 2 dialed pipe 8 to node 1. Node 1 keeps its
// own; node 2 hangs up its own (8), so both keep 7.
TEST(BusLinksTest, WhenBothDialedTheLargerIdHangsUpItsDialer) {
  BusLinks small(1, 500 * kMs), large(2, 500 * kMs);
  EXPECT_EQ(small.Heard(2, 8, false, 0), std::nullopt);
  EXPECT_EQ(small.Heard(2, 7, true, 10 * kMs), std::nullopt);
  EXPECT_EQ(small.Heard(2, 8, false, 100 * kMs), std::nullopt);  // not its own to hang up

  EXPECT_EQ(large.Heard(1, 7, false, 0), std::nullopt);
  EXPECT_EQ(large.Heard(1, 8, true, 10 * kMs), std::optional<uint32_t>(8));
  EXPECT_EQ(large.Heard(1, 7, false, 100 * kMs), std::nullopt);  // one left
}

TEST(BusLinksTest, TwoConnectionsDialedByOneNodeLoseTheNewerOne) {
  BusLinks dialer(5, 500 * kMs), listener(1, 500 * kMs);
  EXPECT_EQ(dialer.Heard(1, 20, true, 0), std::nullopt);
  EXPECT_EQ(dialer.Heard(1, 21, true, 10 * kMs), std::optional<uint32_t>(21));
  // The listening end (even with the smaller id) never hangs up: it did not dial.
  EXPECT_EQ(listener.Heard(5, 30, false, 0), std::nullopt);
  EXPECT_EQ(listener.Heard(5, 31, false, 10 * kMs), std::nullopt);
}

TEST(BusLinksTest, AConnectionNotHeardForLongIsGoneAndForgetClearsAMember) {
  BusLinks l(2, 500 * kMs);
  EXPECT_EQ(l.Heard(1, 8, true, 0), std::nullopt);
  // The old connection went silent (closed) before the new one came: no duplicate.
  EXPECT_EQ(l.Heard(1, 9, true, 600 * kMs), std::nullopt);
  EXPECT_EQ(l.Heard(1, 10, false, 700 * kMs), std::optional<uint32_t>(9));
  l.Forget(1);
  EXPECT_EQ(l.Heard(1, 11, true, 800 * kMs), std::nullopt);
}

// A connection belongs to the member whose heartbeats it carried; it is forgotten with the
// member, or after ten stale intervals of silence.
TEST(BusLinksTest, AConnectionIsOwnedByTheMemberHeardOnIt) {
  BusLinks l(1, 500 * kMs);
  EXPECT_EQ(l.OwnerOf(7), std::nullopt);
  l.Heard(2, 7, true, 0);
  l.Heard(3, 9, false, 0);
  EXPECT_EQ(l.OwnerOf(7), std::optional<NodeId>(2));
  EXPECT_EQ(l.OwnerOf(9), std::optional<NodeId>(3));
  l.Forget(3);
  EXPECT_EQ(l.OwnerOf(9), std::nullopt);
  l.Heard(4, 11, false, 4'000 * kMs);
  EXPECT_EQ(l.OwnerOf(7), std::optional<NodeId>(2));  // 4 s silent: 8 intervals
  l.Heard(4, 11, false, 5'001 * kMs);
  EXPECT_EQ(l.OwnerOf(7), std::nullopt);
}

}  // namespace
}  // namespace convergent::internal
