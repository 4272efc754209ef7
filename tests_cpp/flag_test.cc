// Named semantic tests of Flag: starts disabled, enabling is permanent, join is "or".
#include "convergent/crdt/flag.h"

#include <gtest/gtest.h>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Joined;

TEST(FlagTest, StartsDisabled) {
  const Flag f;
  EXPECT_FALSE(f.enabled());
  EXPECT_TRUE(f.empty());
}

TEST(FlagTest, EnableReturnsAnEnabledDelta) {
  Flag f;
  const Flag d = f.Enable();
  EXPECT_TRUE(f.enabled());
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d, f);
  EXPECT_TRUE(f.Enable().enabled());  // enabling again is harmless
  EXPECT_TRUE(f.enabled());
}

TEST(FlagTest, JoinIsOrAndEnabledStaysEnabled) {
  const Flag off;
  const Flag on(true);
  EXPECT_FALSE(Joined(off, off).enabled());
  EXPECT_TRUE(Joined(off, on).enabled());
  EXPECT_TRUE(Joined(on, off).enabled());
  EXPECT_TRUE(Joined(on, on).enabled());
}

}  // namespace
}  // namespace convergent
