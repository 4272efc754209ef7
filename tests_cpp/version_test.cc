#include "convergent/version.h"

#include <gtest/gtest.h>

#include <string>

namespace convergent {
namespace {

TEST(VersionTest, MatchesProjectVersion) { EXPECT_EQ(std::string(Version()), "0.1.0"); }

}  // namespace
}  // namespace convergent
