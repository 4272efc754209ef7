// Named semantic tests of LWWRegister: the order of writes (timestamp, then replica id, then value
// bytes) and the timestamps of local writes (max(clock, last + 1)).
#include "convergent/crdt/lww_register.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Joined;
using test::TestReplica;
using test::UintValue;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Two replica ids in a known order.
const ReplicaId kLow{0x10};
const ReplicaId kHigh{0x20};

// Joins a and b both ways, checks both orders agree, returns the result.
LWWRegister Merge(const LWWRegister& a, const LWWRegister& b) {
  const LWWRegister ab = Joined(a, b);
  EXPECT_EQ(ab, Joined(b, a));
  return ab;
}

TEST(LWWRegisterTest, NeverSetIsNilAndEmpty) {
  const LWWRegister r;
  EXPECT_FALSE(r.is_set());
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.value(), Value());
  EXPECT_EQ(r.timestamp(), 0u);
}

TEST(LWWRegisterTest, HigherTimestampWins) {
  const auto old_write = LWWRegister::FromParts(UintValue(100), 5, kHigh);
  const auto new_write = LWWRegister::FromParts(UintValue(1), 6, kLow);
  const LWWRegister m = Merge(old_write, new_write);
  EXPECT_EQ(m, new_write);
  EXPECT_EQ(m.value(), UintValue(1));
}

TEST(LWWRegisterTest, EqualTimestampGreaterReplicaWins) {
  const auto low = LWWRegister::FromParts(UintValue(100), 7, kLow);
  const auto high = LWWRegister::FromParts(UintValue(1), 7, kHigh);
  EXPECT_EQ(Merge(low, high), high);
}

TEST(LWWRegisterTest, EqualTimestampAndReplicaGreaterValueBytesWin) {
  // 0x05 < 0x7f < 0xcc 0xc8 (200) in byte order.
  const auto five = LWWRegister::FromParts(UintValue(5), 7, kLow);
  const auto big = LWWRegister::FromParts(UintValue(127), 7, kLow);
  const auto longer = LWWRegister::FromParts(UintValue(200), 7, kLow);
  EXPECT_EQ(Merge(five, big), big);
  EXPECT_EQ(Merge(big, longer), longer);
  EXPECT_EQ(Merge(five, longer), longer);
}

TEST(LWWRegisterTest, LocalWriteUsesTheClockWhenItIsAhead) {
  LWWRegister r;
  const LWWRegister d = r.Set(kLow, UintValue(1), 1000);
  EXPECT_EQ(r.timestamp(), 1000u);
  EXPECT_EQ(r.replica(), kLow);
  EXPECT_EQ(r.value(), UintValue(1));
  EXPECT_EQ(d, r);
  r.Set(kLow, UintValue(2), 2000);
  EXPECT_EQ(r.timestamp(), 2000u);
}

TEST(LWWRegisterTest, LocalWriteAfterAStalledOrBackwardClockStillIncreases) {
  LWWRegister r;
  r.Set(kLow, UintValue(1), 1000);
  r.Set(kLow, UintValue(2), 1000);  // clock stalled
  EXPECT_EQ(r.timestamp(), 1001u);
  r.Set(kLow, UintValue(3), 10);  // clock went back
  EXPECT_EQ(r.timestamp(), 1002u);
  EXPECT_EQ(r.value(), UintValue(3));
  r.Set(kLow, UintValue(4), 0);
  EXPECT_EQ(r.timestamp(), 1003u);
}

TEST(LWWRegisterTest, LocalWriteIsOrderedAfterEveryWriteItSaw) {
  // A replica whose clock lags behind a remote writer's still wins with its later write.
  LWWRegister local;
  local.Set(kLow, UintValue(1), 5);
  const auto remote = LWWRegister::FromParts(UintValue(9), 500, kHigh);
  local.Join(remote);
  EXPECT_EQ(local, remote);
  const LWWRegister d = local.Set(kLow, UintValue(2), 6);
  EXPECT_EQ(local.timestamp(), 501u);
  LWWRegister elsewhere = remote;
  elsewhere.Join(d);
  EXPECT_EQ(elsewhere.value(), UintValue(2));
  EXPECT_EQ(elsewhere, local);
}

TEST(LWWRegisterTest, WriteAtTheLargestTimestampIsNeverSilentlyLost) {
  // After a write at ts 2^64-1 no later timestamp exists. A further write must not be given a
  // smaller timestamp (which every other replica would discard while this one shows it): it is
  // refused with overflow_error and the register is left unchanged.
  LWWRegister r = LWWRegister::FromParts(UintValue(200), kMax, kHigh);
  const LWWRegister before = r;
  EXPECT_THROW(r.Set(kLow, UintValue(1), 7), std::overflow_error);
  EXPECT_EQ(r, before);
  // A write at exactly the largest timestamp is fine when the register is below it.
  LWWRegister s;
  const LWWRegister d = s.Set(kLow, UintValue(1), kMax);
  EXPECT_EQ(s.timestamp(), kMax);
  EXPECT_EQ(Joined(LWWRegister{}, d), s);
}

// BasicLWWRegister<V> over a plain value type: the same order (timestamp, replica, value), the
// same local timestamps, and the join laws.
using IntRegister = BasicLWWRegister<int64_t>;

TEST(BasicLWWRegisterTest, TypedRegisterOrdersWritesAsTheValueRegister) {
  IntRegister never;
  EXPECT_FALSE(never.is_set());
  EXPECT_EQ(never.value(), 0);
  const auto old_write = IntRegister::FromParts(100, 5, kHigh);
  const auto new_write = IntRegister::FromParts(1, 6, kLow);
  const auto tie_high = IntRegister::FromParts(-7, 6, kHigh);
  const auto tie_bigger = IntRegister::FromParts(3, 6, kLow);
  for (const auto& [a, b, want] :
       {std::tuple{old_write, new_write, new_write}, std::tuple{new_write, tie_high, tie_high},
        std::tuple{new_write, tie_bigger, tie_bigger}}) {
    IntRegister ab = a, ba = b;
    ab.Join(b);
    ba.Join(a);
    EXPECT_EQ(ab, want);
    EXPECT_EQ(ba, want);
    ab.Join(b);  // idempotent
    EXPECT_EQ(ab, want);
  }
}

TEST(BasicLWWRegisterTest, TypedLocalWritesUseMaxOfClockAndLastPlusOne) {
  IntRegister r;
  const IntRegister d = r.Set(kLow, 42, 1000);
  EXPECT_EQ(d, r);
  EXPECT_EQ(r.timestamp(), 1000u);
  r.Set(kLow, 43, 10);  // clock went back
  EXPECT_EQ(r.timestamp(), 1001u);
  EXPECT_EQ(r.value(), 43);
  IntRegister top = IntRegister::FromParts(1, kMax, kHigh);
  const IntRegister before = top;
  EXPECT_THROW(top.Set(kLow, 2, 7), std::overflow_error);
  EXPECT_EQ(top, before);
}

}  // namespace
}  // namespace convergent
