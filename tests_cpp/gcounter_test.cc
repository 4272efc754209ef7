// Named semantic tests of GCounter and PNCounter: sums, per-replica maximum on join, deltas,
// overflow of a slot, decoding of slots.
#include "convergent/crdt/gcounter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Joined;
using test::TestReplica;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
const ReplicaId kA = TestReplica(0);
const ReplicaId kB = TestReplica(1);
const ReplicaId kC = TestReplica(2);

TEST(GCounterTest, ValueIsTheSumOfTheSlots) {
  GCounter c;
  EXPECT_EQ(c.value(), 0u);
  c.Increment(kA);
  c.Increment(kA, 4);
  c.Increment(kB, 10);
  EXPECT_EQ(c.value(), 15u);
  EXPECT_EQ(c.SlotOf(kA), 5u);
  EXPECT_EQ(c.SlotOf(kB), 10u);
  EXPECT_EQ(c.SlotOf(kC), 0u);
}

TEST(GCounterTest, IncrementReturnsTheChangedSlot) {
  GCounter c;
  c.Increment(kB, 7);
  const GCounter d = c.Increment(kA, 3);
  ASSERT_EQ(d.slots().size(), 1u);
  EXPECT_EQ(d.slots()[0], (GCounter::Slot{kA, 3}));
  const GCounter d2 = c.Increment(kA, 2);
  ASSERT_EQ(d2.slots().size(), 1u);
  EXPECT_EQ(d2.slots()[0], (GCounter::Slot{kA, 5}));  // the slot's new total, not the increment
}

TEST(GCounterTest, IncrementByZeroChangesNothing) {
  GCounter c;
  const GCounter d = c.Increment(kA, 0);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c, GCounter{});
}

TEST(GCounterTest, ReplicasCountIndependentlyAndJoinSums) {
  GCounter a, b, c;
  a.Increment(kA, 2);
  b.Increment(kB, 3);
  c.Increment(kC, 4);
  GCounter all = Joined(Joined(a, b), c);
  EXPECT_EQ(all.value(), 9u);
  // Join takes the per-replica maximum: receiving a state again does not count it twice.
  all.Join(a);
  all.Join(Joined(a, b));
  EXPECT_EQ(all.value(), 9u);
  // A replica that has moved on wins over its older slot.
  a.Increment(kA, 5);
  all.Join(a);
  EXPECT_EQ(all.value(), 14u);
  EXPECT_EQ(all.SlotOf(kA), 7u);
}

TEST(GCounterTest, SlotOverflowThrowsAndLeavesTheCounterUnchanged) {
  GCounter c;
  c.Increment(kA, kMax - 1);
  c.Increment(kB, 2);
  const GCounter before = c;
  EXPECT_THROW(c.Increment(kA, 2), std::overflow_error);
  EXPECT_EQ(c, before);
  // Reaching exactly 2^64-1 is allowed; one more is not.
  c.Increment(kA, 1);
  EXPECT_EQ(c.SlotOf(kA), kMax);
  const GCounter full = c;
  EXPECT_THROW(c.Increment(kA, 1), std::overflow_error);
  EXPECT_THROW(c.Increment(kA, kMax), std::overflow_error);
  EXPECT_EQ(c, full);
  // Other slots still count.
  c.Increment(kC, kMax);
  EXPECT_EQ(c.SlotOf(kC), kMax);
}

TEST(GCounterTest, ValueWrapsBeyondTheRangeOfItsSum) {
  GCounter c;
  c.Increment(kA, kMax);
  c.Increment(kB, 3);
  EXPECT_EQ(c.value(), 2u);  // documented: the sum wraps modulo 2^64
}

TEST(GCounterTest, FromSlotsSortsDropsZerosAndRejectsDuplicates) {
  auto c = GCounter::FromSlots({{kB, 2}, {kA, 0}, {kC, 5}});
  ASSERT_TRUE(c.ok());
  GCounter expected;
  expected.Increment(kC, 5);
  expected.Increment(kB, 2);
  EXPECT_EQ(*c, expected);
  EXPECT_EQ(c->slots().size(), 2u);

  auto dup = GCounter::FromSlots({{kA, 1}, {kB, 2}, {kA, 1}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kCorruption);
}

TEST(PNCounterTest, ValueIsIncrementsMinusDecrements) {
  PNCounter a, b;
  a.Increment(kA, 10);
  a.Decrement(kA, 3);
  b.Decrement(kB, 12);
  EXPECT_EQ(a.value(), 7);
  EXPECT_EQ(b.value(), -12);
  const PNCounter all = Joined(a, b);
  EXPECT_EQ(all.value(), -5);
  EXPECT_EQ(Joined(all, a), all);
  EXPECT_EQ(all.increments().value(), 10u);
  EXPECT_EQ(all.decrements().value(), 15u);
}

TEST(PNCounterTest, DeltasCarryOnlyTheChangedSide) {
  PNCounter c;
  const PNCounter inc = c.Increment(kA, 4);
  EXPECT_TRUE(inc.decrements().empty());
  EXPECT_EQ(inc.increments().SlotOf(kA), 4u);
  const PNCounter dec = c.Decrement(kA, 1);
  EXPECT_TRUE(dec.increments().empty());
  EXPECT_EQ(dec.decrements().SlotOf(kA), 1u);
  EXPECT_EQ(Joined(inc, dec), c);
}

TEST(PNCounterTest, SlotOverflowThrowsAndLeavesTheCounterUnchanged) {
  PNCounter c;
  c.Increment(kA, kMax);
  c.Decrement(kA, kMax);
  const PNCounter before = c;
  EXPECT_THROW(c.Increment(kA, 1), std::overflow_error);
  EXPECT_THROW(c.Decrement(kA, 1), std::overflow_error);
  EXPECT_EQ(c, before);
  EXPECT_EQ(c.value(), 0);
}

}  // namespace
}  // namespace convergent
