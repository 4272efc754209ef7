// StateDigest (replica/state_digest.h): a set's digest, computed from its parts, must agree with
// its canonical encoding: equal encodings give equal digests, different ones different digests.
// Checked over seeded random histories whose replicas hold many equal and many near-equal sets.
#include "replica/state_digest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "convergent/codec.h"
#include "crdt_test_support.h"

namespace convergent::internal {
namespace {

using test::Cluster;
using test::ForEachSeed;
using test::Joined;
using test::Rng;
using test::Uniform;

TEST(StateDigestTest, ASetsDigestIsEqualExactlyWhenItsEncodingIs) {
  ForEachSeed(200, [](Rng& rng, int) {
    Cluster<ORSet> c(Uniform(rng, 3, 5), rng);
    std::vector<ORSet> seen;
    for (int step = 0; step < 40; ++step) {
      c.RandomStep();
      for (const ORSet& s : c.states()) seen.push_back(s);
    }
    for (const auto& p : c.log()) seen.push_back(p.delta);
    std::vector<std::string> encodings;
    std::vector<uint64_t> digests;
    for (const ORSet& s : seen) {
      encodings.push_back(EncodeAny(AnyCrdt(s)));
      digests.push_back(DigestOfState(AnyCrdt(s), 7).digest);
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      for (size_t j = i + 1; j < seen.size(); ++j) {
        ASSERT_EQ(encodings[i] == encodings[j], digests[i] == digests[j])
            << ::testing::PrintToString(seen[i]) << " / " << ::testing::PrintToString(seen[j]);
      }
    }
  });
}

TEST(StateDigestTest, ASetsDigestDoesNotDependOnTheOrderOfItsJoins) {
  ForEachSeed(200, [](Rng& rng, int) {
    Cluster<ORSet> c = test::RandomCluster<ORSet>(rng, 5, 40);
    const ORSet ab = Joined(c.state(0), c.state(1));
    const ORSet ba = Joined(c.state(1), c.state(0));
    ASSERT_EQ(DigestOfState(AnyCrdt(ab), 1).digest, DigestOfState(AnyCrdt(ba), 1).digest);
  });
}

TEST(StateDigestTest, DigestsDependOnTheSeed) {
  ORSet s;
  s.Add(ReplicaId{1}, StringValue("x"));
  EXPECT_NE(DigestOfState(AnyCrdt(s), 1).digest, DigestOfState(AnyCrdt(s), 2).digest);
  EXPECT_NE(DigestOfState(AnyCrdt(GCounter()), 1).digest,
            DigestOfState(AnyCrdt(GCounter()), 2).digest);
}

// A set's size is estimated from its parts: never below its encoding, and close to it.
TEST(StateDigestTest, ASetsEstimatedSizeBoundsItsEncoding) {
  ORSet big;
  for (int i = 0; i < 10000; ++i) {
    big.Add(ReplicaId{static_cast<uint64_t>(1 + i % 3)},
            StringValue("element-" + std::to_string(i)));
  }
  big.Remove(StringValue("element-5"));
  ForEachSeed(100, [&](Rng& rng, int trial) {
    const ORSet s = trial == 0 ? big : test::RandomCluster<ORSet>(rng, 5, 60).state(0);
    const size_t encoded = EncodeAny(AnyCrdt(s)).size();
    const StateDigest d = DigestOfState(AnyCrdt(s), 0);
    ASSERT_GE(d.size, encoded);
    ASSERT_LE(d.size, encoded + 64 + 8 * s.size());
    EXPECT_EQ(DigestOfEncoding(AnyCrdt(s), 0).size, encoded);
  });
}

// Every other type is digested by its encoding, which a peer's bytes of it hash to.
TEST(StateDigestTest, OtherTypesAreDigestedByTheirEncoding) {
  GCounter g;
  g.Increment(ReplicaId{1}, 5);
  const std::string bytes = EncodeAny(AnyCrdt(g));
  const StateDigest d = DigestOfState(AnyCrdt(g), 3);
  EXPECT_EQ(d.size, bytes.size());
  EXPECT_EQ(d.digest, DigestOfEncoding(AnyCrdt(g), 3).digest);
  EXPECT_TRUE(DigestedByEncoding(CrdtType::kGCounter));
  EXPECT_FALSE(DigestedByEncoding(CrdtType::kORSet));
}

}  // namespace
}  // namespace convergent::internal
