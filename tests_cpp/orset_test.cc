// Named semantic tests of ORSet: add-wins under concurrency, removes that carry exactly the dots
// they observed (never a clock that also erases unseen adds), re-add, clear, the exact deltas of
// the mutators, decoding checks, and the cost of a mutation of a large set.
#include "convergent/crdt/orset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
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
const Value kX = UintValue(1);
const Value kY = UintValue(2);
const Value kZ = UintValue(3);

std::set<Dot> DotsOf(const CausalContext& c) {
  std::set<Dot> out;
  c.ForEachDot([&](const Dot& d) { out.insert(d); });
  return out;
}
std::set<Dot> DotsOf(const ORSet& s, const Value& v) {
  std::set<Dot> out;
  if (const DotSet* dots = s.store().Find(v))
    dots->ForEachDot([&](const Dot& d) { out.insert(d); });
  return out;
}

// Calls check(result) for `start` joined with `deltas` in every order.
void ForEveryOrder(const ORSet& start, const std::vector<ORSet>& deltas,
                   const std::function<void(const ORSet&)>& check) {
  std::vector<size_t> order(deltas.size());
  std::iota(order.begin(), order.end(), 0);
  do {
    ORSet s = start;
    for (size_t i : order) s.Join(deltas[i]);
    SCOPED_TRACE(::testing::PrintToString(order));
    check(s);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(ORSetTest, AddContainsAndCanonicalOrder) {
  ORSet s;
  EXPECT_TRUE(s.empty());
  s.Add(kA, UintValue(200));
  s.Add(kA, kY);
  s.Add(kA, kX);
  EXPECT_TRUE(s.Contains(kX));
  EXPECT_FALSE(s.Contains(kZ));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.Elements(), (std::vector<Value>{kX, kY, UintValue(200)}));
}

TEST(ORSetTest, AddDeltaCarriesTheElementAndTheDotsItReplaces) {
  ORSet s;
  s.Add(kA, kY);
  const ORSet first = s.Add(kA, kX);
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(DotsOf(first, kX), (std::set<Dot>{{kA, 2}}));
  EXPECT_EQ(DotsOf(first.context()), (std::set<Dot>{{kA, 2}}));

  const ORSet again = s.Add(kA, kX);  // re-adding replaces the observed dot
  EXPECT_EQ(again.size(), 1u);
  EXPECT_EQ(DotsOf(again, kX), (std::set<Dot>{{kA, 3}}));
  EXPECT_EQ(DotsOf(again.context()), (std::set<Dot>{{kA, 2}, {kA, 3}}));
  EXPECT_EQ(DotsOf(s, kX), (std::set<Dot>{{kA, 3}}));
}

TEST(ORSetTest, RemoveOfAnAbsentElementIsAnEmptyDelta) {
  ORSet s;
  s.Add(kA, kX);
  const ORSet before = s;
  const ORSet d = s.Remove(kY);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(d.context().empty());
  EXPECT_EQ(s, before);
}

TEST(ORSetTest, RemoveOfAnObservedAddIsAbsentEverywhere) {
  ORSet a, b, c;
  const ORSet add = a.Add(kA, kX);
  b.Join(add);
  const ORSet remove = b.Remove(kX);
  EXPECT_FALSE(b.Contains(kX));
  // Every replica, whatever order the add and the remove arrive in, ends without x.
  ForEveryOrder(c, {add, remove}, [&](const ORSet& s) {
    EXPECT_FALSE(s.Contains(kX));
    EXPECT_EQ(s, b);
  });
  EXPECT_EQ(Joined(a, remove), b);
}

TEST(ORSetTest, ConcurrentAddAndRemoveOfTheSameElementAddWins) {
  ORSet a, b;
  const ORSet first_add = a.Add(kA, kX);
  b.Join(first_add);
  const ORSet remove = a.Remove(kX);   // a removes the add it saw...
  const ORSet re_add = b.Add(kB, kX);  // ...while b adds x again
  ORSet expected = Joined(a, b);
  EXPECT_TRUE(expected.Contains(kX));
  EXPECT_EQ(DotsOf(expected, kX), (std::set<Dot>{{kB, 1}}));
  ForEveryOrder(ORSet{}, {first_add, remove, re_add}, [&](const ORSet& s) {
    EXPECT_TRUE(s.Contains(kX));
    EXPECT_EQ(s, expected);
  });
  EXPECT_EQ(Joined(a, re_add), expected);
  EXPECT_EQ(Joined(b, remove), expected);
}

TEST(ORSetTest, ReAddAfterRemoveIsPresent) {
  ORSet a, c;
  const ORSet d1 = a.Add(kA, kX);
  const ORSet d2 = a.Remove(kX);
  const ORSet d3 = a.Add(kA, kX);
  EXPECT_TRUE(a.Contains(kX));
  ForEveryOrder(c, {d1, d2, d3}, [&](const ORSet& s) {
    EXPECT_TRUE(s.Contains(kX));
    EXPECT_EQ(s, a);
  });
}

// The bug of GoAkt's ORSet that this design guards against: a remove must carry exactly the dots
// it observed, not a clock, so it never erases an add it did not see. Replica a has made many more
// events than b, and has seen b's earlier events; b adds x concurrently with a removing x.
TEST(ORSetTest, RemoveCarriesOnlyTheDotsItObserved) {
  ORSet a, b;
  std::vector<ORSet> history;
  for (uint64_t i = 10; i < 18; ++i) history.push_back(a.Add(kA, UintValue(i)));  // a:1..8
  for (uint64_t i = 20; i < 23; ++i) history.push_back(b.Add(kB, UintValue(i)));  // b:1..3
  history.push_back(a.Add(kA, kX));                                               // a:9
  for (const ORSet& d : history) {
    a.Join(d);
    b.Join(d);
  }
  ASSERT_EQ(a, b);
  const ORSet base = a;

  const ORSet remove = a.Remove(kX);
  const ORSet concurrent_add = b.Add(kB, kX);  // b:4, below a's counter 9
  const ORSet other_add = b.Add(kB, kZ);       // b:5

  // The remove delta is the observed dot of x and nothing else.
  EXPECT_TRUE(remove.empty());
  EXPECT_EQ(DotsOf(remove.context()), (std::set<Dot>{{kA, 9}}));
  ASSERT_EQ(DotsOf(concurrent_add, kX), (std::set<Dot>{{kB, 4}}));

  ORSet expected = base;
  expected.Join(remove);
  expected.Join(concurrent_add);
  expected.Join(other_add);
  ASSERT_TRUE(expected.Contains(kX));
  EXPECT_EQ(DotsOf(expected, kX), (std::set<Dot>{{kB, 4}}));
  EXPECT_EQ(expected.size(), 8u + 3u + 2u);

  // On a replica that had the common history, on a fresh replica, on a and on b: x survives with
  // b's dot, every other element is untouched, in every delivery order.
  const std::vector<ORSet> deltas = {remove, concurrent_add, other_add};
  for (const ORSet* start : std::vector<const ORSet*>{&base, &a, &b}) {
    ForEveryOrder(*start, deltas, [&](const ORSet& s) { EXPECT_EQ(s, expected); });
  }
  std::vector<ORSet> everything = {remove, concurrent_add, other_add};
  ORSet history_delta;
  for (const ORSet& d : history) history_delta.Join(d);
  everything.push_back(history_delta);
  ForEveryOrder(ORSet{}, everything, [&](const ORSet& s) { EXPECT_EQ(s, expected); });
}

TEST(ORSetTest, ClearRemovesWhatItObservedAndKeepsConcurrentAdds) {
  ORSet a, b;
  std::vector<ORSet> history = {a.Add(kA, kX), a.Add(kA, kY)};
  for (const ORSet& d : history) b.Join(d);
  const ORSet clear = a.Clear();
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(clear.empty());
  const ORSet add_z = b.Add(kB, kZ);     // concurrent with the clear
  const ORSet re_add_x = b.Add(kB, kX);  // concurrent too: survives the clear
  ORSet expected = Joined(Joined(a, add_z), re_add_x);
  EXPECT_EQ(expected.Elements(), (std::vector<Value>{kX, kZ}));
  EXPECT_EQ(Joined(b, clear), expected);
  ORSet history_delta = Joined(history[0], history[1]);
  ForEveryOrder(ORSet{}, {history_delta, clear, add_z, re_add_x},
                [&](const ORSet& s) { EXPECT_EQ(s, expected); });
}

TEST(ORSetTest, ClearOfAnEmptySetChangesNothing) {
  ORSet s;
  const ORSet d = s.Clear();
  EXPECT_EQ(s, ORSet{});
  EXPECT_EQ(d, ORSet{});
}

TEST(ORSetTest, FromPartsChecksItsInvariants) {
  CausalContext ctx;
  ctx.Insert(Dot{kA, 1});
  ctx.Insert(Dot{kA, 2});

  ORSet::Store ok;
  ok.InsertDecoded(kX, [] {
    DotSet s;
    s.Insert(Dot{kA, 1});
    return s;
  }());
  auto good = ORSet::FromParts(ORSet::Store(ok), CausalContext(ctx));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->Elements(), (std::vector<Value>{kX}));

  ORSet::Store outside;
  outside.InsertDecoded(kX, [] {
    DotSet s;
    s.Insert(Dot{kA, 3});
    return s;
  }());
  auto bad = ORSet::FromParts(ORSet::Store(outside), CausalContext(ctx));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);

  ORSet::Store shared;
  for (const Value& v : {kX, kY}) {
    DotSet s;
    s.Insert(Dot{kA, 2});
    ASSERT_TRUE(shared.InsertDecoded(v, s));
  }
  auto twice = ORSet::FromParts(ORSet::Store(shared), CausalContext(ctx));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), StatusCode::kCorruption);

  // Counter 0 is no dot: no context contains it, so a store holding it is corrupt.
  ORSet::Store zero;
  zero.InsertDecoded(kX, [] {
    DotSet s;
    s.Insert(Dot{kA, 0});
    return s;
  }());
  auto no_dot = ORSet::FromParts(ORSet::Store(zero), CausalContext(ctx));
  ASSERT_FALSE(no_dot.ok());
  EXPECT_EQ(no_dot.status().code(), StatusCode::kCorruption);
}

// A mutation of a large set produces a delta as small as the change: one element, and a context
// of exactly the new dot plus the dots it replaces. (Timing is left to the benchmarks.)
TEST(ORSetTest, MutatingAMillionElementSetYieldsOneElementDeltas) {
  constexpr uint64_t kN = 1'000'000;
  ORSet s;
  for (uint64_t i = 0; i < kN; ++i) s.Add(kA, UintValue(i));
  ASSERT_EQ(s.size(), kN);
  ASSERT_EQ(s.context().Contiguous(kA), kN);

  const ORSet fresh = s.Add(kB, UintValue(kN));  // a new element
  EXPECT_EQ(fresh.size(), 1u);
  EXPECT_EQ(DotsOf(fresh.context()), (std::set<Dot>{{kB, 1}}));
  EXPECT_EQ(DotsOf(fresh, UintValue(kN)), (std::set<Dot>{{kB, 1}}));

  const ORSet again = s.Add(kA, UintValue(12345));  // an existing element: replaces its dot
  EXPECT_EQ(again.size(), 1u);
  EXPECT_EQ(DotsOf(again.context()), (std::set<Dot>{{kA, 12346}, {kA, kN + 1}}));
  EXPECT_EQ(DotsOf(again, UintValue(12345)), (std::set<Dot>{{kA, kN + 1}}));

  const ORSet removed = s.Remove(UintValue(777));
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(DotsOf(removed.context()), (std::set<Dot>{{kA, 778}}));
  EXPECT_EQ(s.size(), kN);  // one added, one removed

  // Joining a one-dot delta into the large set takes effect (through the dot index).
  ORSet remote;
  remote.Join(fresh);
  const ORSet remote_remove = remote.Remove(UintValue(kN));
  s.Join(remote_remove);
  EXPECT_FALSE(s.Contains(UintValue(kN)));
  EXPECT_TRUE(s.Contains(UintValue(12345)));
  EXPECT_EQ(s.size(), kN - 1);
}

// Delta-state anti-entropy: a replica that lacks the last adds and still holds an element
// removed here gets exactly those adds and that remove, and nothing it already has.
TEST(ORSetTest, DeltaSinceCarriesTheMissingAddsAndTheRemovesOnly) {
  ORSet here;
  for (uint64_t i = 0; i < 1000; ++i) here.Add(kA, UintValue(100 + i));
  here.Add(kB, kX);
  ORSet there = here;
  here.Add(kA, kY);
  here.Add(kC, kZ);
  here.Remove(UintValue(500));
  const std::optional<ORSet> delta = here.DeltaSince(there.context());
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(delta->Elements(), (std::vector<Value>{kY, kZ}));
  EXPECT_EQ(delta->context().DotCount(), 3u);  // the two adds and the removed dot
  EXPECT_EQ(Joined(there, *delta), here);
  // A replica that has seen every dot gets no element, only the remove: a remove makes no dot,
  // so it may still hold the removed element.
  const std::optional<ORSet> none = here.DeltaSince(here.context());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(none->context().DotCount(), 1u);
}

// Removes are listed dot by dot: past twice the entries the other replica holds (plus a slack),
// the whole set is cheaper, and DeltaSince says so.
TEST(ORSetTest, DeltaSinceGivesWayToTheWholeSetWhenMostWasRemoved) {
  ORSet here;
  for (uint64_t i = 0; i < 1000; ++i) here.Add(kA, UintValue(i));
  const ORSet there = here;
  for (uint64_t i = 0; i < 900; ++i) here.Remove(UintValue(i));
  EXPECT_FALSE(here.DeltaSince(there.context()).has_value());  // 900 removed, 100 held
  ORSet fewer = there;
  for (uint64_t i = 0; i < 600; ++i) fewer.Remove(UintValue(i));
  const std::optional<ORSet> delta = fewer.DeltaSince(there.context());  // 600 <= 2 * 400 + 64
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(Joined(there, *delta), fewer);
}

}  // namespace
}  // namespace convergent
