// Named semantic tests of MVRegister: concurrent writes are all visible, a write replaces exactly
// the writes it observed, and the delta of a write carries them.
#include "convergent/crdt/mv_register.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Joined;
using test::TestReplica;
using test::UintValue;

const ReplicaId kA = TestReplica(0);
const ReplicaId kB = TestReplica(1);
const ReplicaId kC = TestReplica(2);

std::vector<Value> Vals(std::initializer_list<uint64_t> xs) {
  std::vector<Value> out;
  for (uint64_t x : xs) out.push_back(UintValue(x));
  return out;
}

TEST(MVRegisterTest, EmptyHasNoValues) {
  const MVRegister r;
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.Values().empty());
}

TEST(MVRegisterTest, SequentialWritesKeepTheLast) {
  MVRegister r;
  r.Set(kA, UintValue(1));
  r.Set(kA, UintValue(2));
  EXPECT_EQ(r.Values(), Vals({2}));
  EXPECT_EQ(r.store().size(), 1u);
}

TEST(MVRegisterTest, ConcurrentWritesAreBothVisible) {
  MVRegister a, b;
  const MVRegister da = a.Set(kA, UintValue(1));
  const MVRegister db = b.Set(kB, UintValue(2));
  a.Join(db);
  b.Join(da);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Values(), Vals({1, 2}));
}

TEST(MVRegisterTest, AWriteThatSawBothReplacesBoth) {
  MVRegister a, b, c;
  const MVRegister da = a.Set(kA, UintValue(1));
  const MVRegister db = b.Set(kB, UintValue(2));
  a.Join(db);  // a sees both
  const MVRegister dw = a.Set(kA, UintValue(3));
  EXPECT_EQ(a.Values(), Vals({3}));
  // The write's delta removes both observed writes wherever it lands, in any order.
  c.Join(dw);
  c.Join(da);
  c.Join(db);
  EXPECT_EQ(c.Values(), Vals({3}));
  b.Join(dw);
  EXPECT_EQ(b.Values(), Vals({3}));
  EXPECT_EQ(b, a);
  EXPECT_EQ(c, a);
}

TEST(MVRegisterTest, AWriteReplacesOnlyWhatItSaw) {
  MVRegister a, b, c;
  const MVRegister da = a.Set(kA, UintValue(1));
  b.Join(da);
  const MVRegister db = b.Set(kB, UintValue(2));  // replaces 1
  const MVRegister dc = c.Set(kC, UintValue(3));  // concurrent with both
  MVRegister x;
  for (const MVRegister* d : {&dc, &db, &da}) x.Join(*d);
  EXPECT_EQ(x.Values(), Vals({2, 3}));
  MVRegister y;
  for (const MVRegister* d : {&da, &db, &dc}) y.Join(*d);
  EXPECT_EQ(x, y);
}

TEST(MVRegisterTest, EqualConcurrentValuesAreReadOnce) {
  MVRegister a, b;
  a.Set(kA, UintValue(5));
  b.Set(kB, UintValue(5));
  a.Join(b);
  EXPECT_EQ(a.store().size(), 2u);   // two writes...
  EXPECT_EQ(a.Values(), Vals({5}));  // ...one value
}

TEST(MVRegisterTest, SetDeltaCarriesTheObservedDotsAndTheNewOne) {
  MVRegister a, b;
  a.Set(kA, UintValue(1));
  b.Set(kB, UintValue(2));
  a.Join(b);
  const MVRegister d = a.Set(kA, UintValue(3));
  EXPECT_EQ(d.store().size(), 1u);
  EXPECT_EQ(d.context().DotCount(), 3u);
  EXPECT_TRUE(d.context().Contains(Dot{kA, 1}));
  EXPECT_TRUE(d.context().Contains(Dot{kB, 1}));
  EXPECT_TRUE(d.context().Contains(Dot{kA, 2}));
}

TEST(MVRegisterTest, FromPartsRejectsADotOutsideTheContext) {
  MVRegister::Store store;
  store.Insert(Dot{kA, 3}, UintValue(1));
  CausalContext ctx;
  ctx.Insert(Dot{kA, 1});
  auto r = MVRegister::FromParts(store, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  ctx.Insert(Dot{kA, 3});
  auto ok = MVRegister::FromParts(store, ctx);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Values(), Vals({1}));
}

// A register moves its dot at every write: past a few writes the removed dots would cost more
// than the register, and DeltaSince leaves it to the whole state.
TEST(MVRegisterTest, DeltaSinceGivesWayToTheWholeRegisterAfterManyWrites) {
  MVRegister r;
  const MVRegister empty;
  for (uint64_t i = 0; i < 10; ++i) r.Set(TestReplica(0), UintValue(i));
  const std::optional<MVRegister> few = r.DeltaSince(empty.context());
  ASSERT_TRUE(few.has_value());
  EXPECT_EQ(Joined(empty, *few), r);
  MVRegister seen = r;
  for (uint64_t i = 0; i < 100; ++i) r.Set(TestReplica(0), UintValue(i));
  EXPECT_FALSE(r.DeltaSince(seen.context()).has_value());
}

}  // namespace
}  // namespace convergent
