// Named semantic tests of GSet: add, its one-element delta, union on join, canonical order.
#include "convergent/crdt/gset.h"

#include <gtest/gtest.h>

#include <vector>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Joined;
using test::UintValue;

TEST(GSetTest, AddReturnsTheOneElementDelta) {
  GSet s;
  s.Add(UintValue(1));
  const GSet d = s.Add(UintValue(2));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_TRUE(d.Contains(UintValue(2)));
  EXPECT_TRUE(s.Contains(UintValue(1)));
  EXPECT_TRUE(s.Contains(UintValue(2)));
  EXPECT_FALSE(s.Contains(UintValue(3)));
  EXPECT_EQ(s.size(), 2u);
}

TEST(GSetTest, AddingTwiceKeepsOneElement) {
  GSet s;
  s.Add(UintValue(7));
  const GSet d = s.Add(UintValue(7));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(d.size(), 1u);
}

TEST(GSetTest, JoinIsUnion) {
  GSet a, b;
  a.Add(UintValue(1));
  a.Add(UintValue(2));
  b.Add(UintValue(2));
  b.Add(UintValue(3));
  const GSet u = Joined(a, b);
  EXPECT_EQ(u.Elements(), (std::vector<Value>{UintValue(1), UintValue(2), UintValue(3)}));
  EXPECT_EQ(u, Joined(b, a));
}

TEST(GSetTest, ElementsAreInCanonicalByteOrder) {
  GSet s;
  for (uint64_t i : {70000u, 3u, 200u, 0u, 127u}) s.Add(UintValue(i));
  // 0x00 < 0x03 < 0x7f < 0xcc.. (200) < 0xce.. (70000)
  EXPECT_EQ(s.Elements(), (std::vector<Value>{UintValue(0), UintValue(3), UintValue(127),
                                              UintValue(200), UintValue(70000)}));
}

}  // namespace
}  // namespace convergent
