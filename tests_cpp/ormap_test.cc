// Semantics of ORMap and the typed maps built on it (LWWMap, PNCounterMap, ORMultiMap):
// add-wins keys, removes that carry only observed dots, nested types and type conflicts.
#include "convergent/crdt/ormap.h"

#include <gtest/gtest.h>

#include <string>

#include "convergent/crdt/lww_map.h"
#include "convergent/crdt/ormultimap.h"
#include "convergent/crdt/pncounter_map.h"

namespace convergent {
namespace {

const ReplicaId kA{1}, kB{2}, kC{3};

// A test-local value: msgpack fixstr of a short ASCII string (the codec has the general form).
Value S(const std::string& s) {
  std::string b(1, static_cast<char>(0xa0 | s.size()));
  return Value::FromCanonical(b + s);
}

int64_t CounterOf(const ORMap& m, const std::string& key) {
  auto c = m.GetPNCounter(S(key));
  EXPECT_TRUE(c.has_value()) << key;
  return c ? c->value() : 0;
}

TEST(ORMapTest, CountersOfSeveralReplicasSum) {
  ORMap a, b;
  ASSERT_TRUE(a.Increment(kA, S("k"), 5).ok());
  auto db = b.Increment(kB, S("k"), -2);
  ASSERT_TRUE(db.ok());
  a.Join(*db);
  EXPECT_EQ(CounterOf(a, "k"), 3);
  b.Join(a);
  EXPECT_EQ(a, b);
  // A replica's second increment replaces its own dot, not the other's.
  auto d2 = a.Increment(kA, S("k"), 1);
  ASSERT_TRUE(d2.ok());
  b.Join(*d2);
  EXPECT_EQ(CounterOf(b, "k"), 4);
  EXPECT_EQ(a, b);
}

TEST(ORMapTest, RemoveOfObservedKeyRemovesItEverywhere) {
  ORMap a, b;
  b.Join(*a.Increment(kA, S("k"), 1));
  ORMap rm = b.Remove(S("k"));
  EXPECT_FALSE(b.Contains(S("k")));
  a.Join(rm);
  EXPECT_FALSE(a.Contains(S("k")));
  EXPECT_EQ(a, b);
}

TEST(ORMapTest, ConcurrentUpdateSurvivesRemove) {
  ORMap a, b;
  b.Join(*a.AddElement(kA, S("k"), S("x")));
  ORMap rm = b.Remove(S("k"));                    // b saw x only
  ORMap add = *a.AddElement(kA, S("k"), S("y"));  // concurrent with the remove
  ORMap a2 = a, b2 = b;
  a2.Join(rm);
  b2.Join(add);
  EXPECT_EQ(a2, b2);
  auto s = a2.GetORSet(S("k"));
  ASSERT_TRUE(s.has_value());
  // x was observed by the remove and is gone; y was not and survives.
  EXPECT_FALSE(s->Contains(S("x")));
  EXPECT_TRUE(s->Contains(S("y")));
}

TEST(ORMapTest, UpdateAsAnotherTypeIsAnErrorAndChangesNothing) {
  ORMap m;
  ASSERT_TRUE(m.AddElement(kA, S("k"), S("x")).ok());
  ORMap before = m;
  auto r = m.Increment(kA, S("k"), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(m, before);
  EXPECT_EQ(m.SetRegister(kA, S("k"), S("v"), 1).status().code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(m, before);
}

TEST(ORMapTest, ConcurrentWritesOfDifferentTypesConvergeAndTheNextUpdateResolves) {
  ORMap a, b;
  ORMap da = *a.SetRegister(kA, S("k"), S("v"), 10);  // LWWRegister (tag 3)
  ORMap db = *b.AddElement(kB, S("k"), S("x"));       // ORSet (tag 4)
  a.Join(db);
  b.Join(da);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.TypeOf(S("k")), CrdtType::kORSet);  // readers see the greatest type tag
  EXPECT_EQ(a.Find(S("k"))->parts().size(), 2u);
  EXPECT_FALSE(a.GetLWWRegister(S("k")).has_value());
  // An update with the visible type clears the other part it observed, everywhere.
  ORMap d = *a.AddElement(kA, S("k"), S("y"));
  b.Join(d);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.Find(S("k"))->parts().size(), 1u);
}

TEST(ORMapTest, NestedLWWRegisterReadsTheGreatestConcurrentWrite) {
  ORMap a, b;
  ORMap da = *a.SetRegister(kA, S("k"), S("a"), 100);
  ORMap db = *b.SetRegister(kB, S("k"), S("b"), 100);  // same timestamp: greater replica wins
  a.Join(db);
  b.Join(da);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.GetLWWRegister(S("k"))->value(), S("b"));
  // A later write observed both and replaces them, at a timestamp above both.
  ORMap dc = *a.SetRegister(kA, S("k"), S("c"), 5);
  EXPECT_EQ(a.GetLWWRegister(S("k"))->timestamp(), 101u);
  b.Join(dc);
  EXPECT_EQ(b.GetLWWRegister(S("k"))->value(), S("c"));
}

TEST(ORMapTest, OtherNestedTypes) {
  ORMap m;
  ASSERT_TRUE(m.EnableFlag(kA, S("f")).ok());
  ASSERT_TRUE(m.SetMultiValue(kA, S("mv"), S("1")).ok());
  ASSERT_TRUE(m.AddElement(kA, S("g"), S("x"), CrdtType::kGSet).ok());
  ASSERT_TRUE(m.Increment(kA, S("gc"), 7, CrdtType::kGCounter).ok());
  EXPECT_EQ(m.Increment(kA, S("gc"), -1, CrdtType::kGCounter).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(m.RemoveElement(S("g"), S("x")).status().code(), StatusCode::kTypeMismatch);
  EXPECT_TRUE(m.GetFlag(S("f"))->enabled());
  EXPECT_EQ(m.GetMVRegister(S("mv"))->Values(), std::vector<Value>{S("1")});
  EXPECT_TRUE(m.GetGSet(S("g"))->Contains(S("x")));
  EXPECT_EQ(m.GetGCounter(S("gc"))->value(), 7u);
  EXPECT_EQ(m.Keys(), (std::vector<Value>{S("f"), S("g"), S("gc"), S("mv")}));
}

TEST(ORMapTest, ClearSetRemovesOnlyObservedElements) {
  ORMap a, b;
  b.Join(*a.AddElement(kA, S("k"), S("x")));
  ORMap add = *a.AddElement(kA, S("k"), S("y"));
  ORMap clear = *b.ClearSet(S("k"));
  a.Join(clear);
  b.Join(add);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.GetORSet(S("k"))->Elements(), std::vector<Value>{S("y")});
}

TEST(TypedMapsTest, LWWMapPutGetRemove) {
  LWWMap a, b;
  b.Join(a.Put(kA, S("k"), S("1"), 10));
  b.Join(b.Put(kB, S("k"), S("2"), 5));  // observed ts 10: written at 11
  a.Join(b);
  EXPECT_EQ(a.Get(S("k")), S("2"));
  LWWMap rm = a.Remove(S("k"));
  b.Join(rm);
  EXPECT_FALSE(b.Get(S("k")).has_value());
  EXPECT_EQ(a, b);
}

TEST(TypedMapsTest, PNCounterMapIncrementConcurrentWithRemove) {
  PNCounterMap a, b;
  b.Join(a.Increment(kA, S("k"), 3));
  PNCounterMap rm = b.Remove(S("k"));
  PNCounterMap inc = a.Decrement(kA, S("k"), 1);  // a's running total: +3, -1
  a.Join(rm);
  b.Join(inc);
  EXPECT_EQ(a, b);
  // The concurrent update carries a's whole contribution: the key survives with it.
  EXPECT_EQ(a.Get(S("k")), 2);
}

TEST(TypedMapsTest, ORMultiMapValuesAndKeys) {
  ORMultiMap a, b;
  b.Join(a.Add(kA, S("k"), S("x")));
  b.Join(b.Add(kB, S("k"), S("y")));
  ORMultiMap rm = b.Remove(S("k"), S("x"));
  ORMultiMap add = a.Add(kA, S("k"), S("x"));  // concurrent re-add of x wins
  a.Join(rm);
  a.Join(b);
  b.Join(add);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Get(S("k")), (std::vector<Value>{S("x"), S("y")}));
  b.Join(b.RemoveKey(S("k")));
  EXPECT_TRUE(b.Get(S("k")).empty());
  EXPECT_FALSE(b.Contains(S("k")));
}

TEST(TypedMapsTest, FromMapRejectsAnotherValueType) {
  ORMap m;
  ASSERT_TRUE(m.Increment(kC, S("k"), 1).ok());
  EXPECT_FALSE(LWWMap::FromMap(m).ok());
  EXPECT_TRUE(PNCounterMap::FromMap(m).ok());
}

}  // namespace
}  // namespace convergent
