// Unit and property tests of CausalContext: dot generation, out-of-order insertion folding into
// the version vector, join, membership, counting, enumeration, and compactness (equal dot sets
// have equal representations whatever the order they were recorded in).
#include "convergent/crdt/causal_context.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "convergent/crdt/orset.h"
#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::ForEachSeed;
using test::Rng;
using test::TestReplica;
using test::Uniform;

const ReplicaId kA = TestReplica(0);
const ReplicaId kB = TestReplica(1);
const ReplicaId kC = TestReplica(2);

std::set<Dot> DotsOf(const CausalContext& c) {
  std::set<Dot> out;
  c.ForEachDot([&](const Dot& d) { EXPECT_TRUE(out.insert(d).second) << "dot visited twice"; });
  return out;
}

CausalContext FromDots(const std::vector<Dot>& dots) {
  CausalContext c;
  for (const Dot& d : dots) c.Insert(d);
  return c;
}

// A cloud of these dots, in any order (a DotCloud is sorted).
CausalContext::DotCloud Cloud(std::vector<Dot> dots) {
  std::sort(dots.begin(), dots.end());
  return CausalContext::DotCloud(dots.begin(), dots.end());
}

// The representation invariants: vector sorted by replica with positive counters, every cloud dot
// strictly beyond the contiguous range of its replica plus one.
void ExpectCompact(const CausalContext& c) {
  const auto& vv = c.version_vector();
  for (size_t i = 0; i < vv.size(); ++i) {
    EXPECT_GT(vv[i].counter, 0u);
    if (i > 0) {
      EXPECT_LT(vv[i - 1].replica, vv[i].replica);
    }
  }
  for (const Dot& d : c.dot_cloud()) {
    EXPECT_GT(d.counter, c.Contiguous(d.replica) + 1);
  }
}

TEST(CausalContextTest, EmptyContainsNothing) {
  CausalContext c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.DotCount(), 0u);
  EXPECT_FALSE(c.Contains(Dot{kA, 1}));
  EXPECT_EQ(c.Contiguous(kA), 0u);
  EXPECT_TRUE(DotsOf(c).empty());
}

TEST(CausalContextTest, NextCreatesConsecutiveDotsPerReplica) {
  CausalContext c;
  EXPECT_EQ(c.Next(kA), (Dot{kA, 1}));
  EXPECT_EQ(c.Next(kA), (Dot{kA, 2}));
  EXPECT_EQ(c.Next(kB), (Dot{kB, 1}));
  EXPECT_EQ(c.Next(kA), (Dot{kA, 3}));
  EXPECT_EQ(c.Contiguous(kA), 3u);
  EXPECT_EQ(c.Contiguous(kB), 1u);
  EXPECT_TRUE(c.dot_cloud().empty());
  EXPECT_EQ(c.DotCount(), 4u);
}

TEST(CausalContextTest, NextGoesPastTheHighestDotEvenInTheCloud) {
  CausalContext c;
  c.Insert(Dot{kA, 1});
  c.Insert(Dot{kA, 5});
  c.Insert(Dot{kB, 3});
  EXPECT_EQ(c.Next(kA), (Dot{kA, 6}));
  EXPECT_EQ(c.Next(kB), (Dot{kB, 4}));
  EXPECT_EQ(c.Next(kC), (Dot{kC, 1}));
  EXPECT_TRUE(c.Contains(Dot{kA, 6}));
  EXPECT_FALSE(c.Contains(Dot{kA, 2}));
  ExpectCompact(c);
}

TEST(CausalContextTest, OutOfOrderInsertFoldsIntoVectorWhenGapsFill) {
  CausalContext c;
  c.Insert(Dot{kA, 3});
  c.Insert(Dot{kA, 5});
  EXPECT_EQ(c.Contiguous(kA), 0u);
  EXPECT_EQ(c.dot_cloud(), Cloud({{kA, 3}, {kA, 5}}));
  EXPECT_TRUE(c.version_vector().empty());

  c.Insert(Dot{kA, 1});  // 1 present; 2 still missing
  EXPECT_EQ(c.Contiguous(kA), 1u);
  EXPECT_EQ(c.dot_cloud(), Cloud({{kA, 3}, {kA, 5}}));

  c.Insert(Dot{kA, 2});  // fills the gap: 1..3 contiguous, 5 stays out
  EXPECT_EQ(c.Contiguous(kA), 3u);
  EXPECT_EQ(c.dot_cloud(), Cloud({{kA, 5}}));

  c.Insert(Dot{kA, 4});
  EXPECT_EQ(c.Contiguous(kA), 5u);
  EXPECT_TRUE(c.dot_cloud().empty());
  EXPECT_EQ(c.version_vector(), (CausalContext::VersionVector{{kA, 5}}));
  EXPECT_EQ(c.DotCount(), 5u);
}

// Replicas names each replica once, ascending, whether its dots are in the vector, in the cloud
// (dots seen out of order only) or both; DropReplica forgets it from both.
TEST(CausalContextTest, ReplicasNamesVectorAndCloudReplicasOnce) {
  CausalContext c;
  EXPECT_TRUE(c.Replicas().empty());
  c.Insert(Dot{kB, 1});
  c.Insert(Dot{kB, 3});  // kB in both
  c.Insert(Dot{kC, 4});  // kC in the cloud only
  c.Insert(Dot{kA, 1});  // kA in the vector only
  std::vector<ReplicaId> want = {kA, kB, kC};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(c.Replicas(), want);
  c.DropReplica(kC);
  std::erase(want, kC);
  EXPECT_EQ(c.Replicas(), want);
}

TEST(CausalContextTest, InsertIgnoresCounterZeroAndDuplicates) {
  CausalContext c;
  c.Insert(Dot{kA, 0});
  EXPECT_TRUE(c.empty());
  c.Insert(Dot{kA, 1});
  c.Insert(Dot{kA, 1});
  c.Insert(Dot{kA, 4});
  c.Insert(Dot{kA, 4});
  EXPECT_EQ(c, FromDots({{kA, 1}, {kA, 4}}));
  EXPECT_EQ(c.DotCount(), 2u);
}

TEST(CausalContextTest, JoinUnitesDotsAndFoldsTheCloud) {
  CausalContext a = FromDots({{kA, 1}, {kA, 3}, {kA, 6}, {kB, 2}});
  const CausalContext b = FromDots({{kA, 1}, {kA, 2}, {kB, 1}, {kC, 4}});
  a.Join(b);
  // A: 1,2,3 contiguous (3 folded from the cloud), 6 stays in the cloud; B: 1,2; C: 4 in cloud.
  EXPECT_EQ(a.Contiguous(kA), 3u);
  EXPECT_EQ(a.Contiguous(kB), 2u);
  EXPECT_EQ(a.Contiguous(kC), 0u);
  EXPECT_EQ(a.dot_cloud(), Cloud({{kA, 6}, {kC, 4}}));
  EXPECT_EQ(a.DotCount(), 7u);
  ExpectCompact(a);
}

TEST(CausalContextTest, JoinDropsCloudDotsTheOtherVectorCovers) {
  CausalContext a = FromDots({{kA, 4}, {kA, 9}});
  a.Join(FromDots({{kA, 1}, {kA, 2}, {kA, 3}, {kA, 4}, {kA, 5}, {kA, 6}}));
  EXPECT_EQ(a.version_vector(), (CausalContext::VersionVector{{kA, 6}}));
  EXPECT_EQ(a.dot_cloud(), Cloud({{kA, 9}}));
}

TEST(CausalContextTest, ContainsDotCountAndForEachDotAgree) {
  const CausalContext c = FromDots({{kB, 1}, {kB, 2}, {kA, 1}, {kA, 7}, {kC, 2}});
  EXPECT_TRUE(c.Contains(Dot{kA, 1}));
  EXPECT_TRUE(c.Contains(Dot{kA, 7}));
  EXPECT_TRUE(c.Contains(Dot{kB, 2}));
  EXPECT_TRUE(c.Contains(Dot{kC, 2}));
  EXPECT_FALSE(c.Contains(Dot{kA, 2}));
  EXPECT_FALSE(c.Contains(Dot{kB, 3}));
  EXPECT_FALSE(c.Contains(Dot{kC, 1}));
  EXPECT_FALSE(c.Contains(Dot{kA, 0}));
  EXPECT_EQ(c.DotCount(), 5u);
  EXPECT_EQ(DotsOf(c), (std::set<Dot>{{kB, 1}, {kB, 2}, {kA, 1}, {kA, 7}, {kC, 2}}));
}

TEST(CausalContextTest, FromPartsAcceptsTheCompactFormOnly) {
  const CausalContext built = FromDots({{kA, 1}, {kA, 2}, {kA, 5}, {kB, 1}, {kC, 3}});
  auto same = CausalContext::FromParts(built.version_vector(), built.dot_cloud());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, built);

  using VV = CausalContext::VersionVector;
  const VV sorted = built.version_vector();
  const VV unsorted(sorted.rbegin(), sorted.rend());
  ASSERT_GT(sorted.size(), 1u);
  EXPECT_FALSE(CausalContext::FromParts(unsorted, {}).ok());
  EXPECT_FALSE(CausalContext::FromParts(VV{{kA, 2}, {kA, 3}}, {}).ok());  // a replica twice
  EXPECT_FALSE(CausalContext::FromParts(VV{{kA, 0}}, {}).ok());           // an empty range
  EXPECT_FALSE(CausalContext::FromParts(VV{{kA, 2}}, {{kA, 3}}).ok());    // cloud extends range
  EXPECT_FALSE(CausalContext::FromParts(VV{{kA, 2}}, {{kA, 2}}).ok());    // cloud inside range
  using Cloud = CausalContext::DotCloud;
  EXPECT_TRUE(CausalContext::FromParts({}, Cloud{{kA, 3}, {kA, 5}}).ok());
  EXPECT_FALSE(CausalContext::FromParts({}, Cloud{{kA, 5}, {kA, 3}}).ok());  // cloud not sorted
  EXPECT_FALSE(CausalContext::FromParts({}, Cloud{{kA, 3}, {kA, 3}}).ok());  // a dot twice
  EXPECT_FALSE(CausalContext::FromParts(VV{}, {{kA, 1}}).ok());  // belongs in the vector
  EXPECT_FALSE(CausalContext::FromParts(VV{}, {{kA, 0}}).ok());  // no such dot
  EXPECT_EQ(CausalContext::FromParts(VV{{kA, 0}}, {}).status().code(), StatusCode::kCorruption);
}

TEST(CausalContextTest, DotCountSaturates) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  auto c = CausalContext::FromParts({{kA, kMax - 1}, {kB, 5}}, {{kC, 9}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->DotCount(), kMax);
  auto exact = CausalContext::FromParts({{kA, kMax - 7}, {kB, 5}}, {{kC, 9}});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->DotCount(), kMax - 1);
}

// A random dot set over 3 replicas with small counters, so that gaps are frequent.
std::vector<Dot> RandomDots(Rng& rng) {
  std::vector<Dot> dots;
  const int n = static_cast<int>(Uniform(rng, 0, 30));
  for (int i = 0; i < n; ++i)
    dots.push_back(Dot{TestReplica(Uniform(rng, 0, 2)), Uniform(rng, 1, 12)});
  return dots;
}

// Model check: after any sequence of inserts, joins and Next, the context holds exactly the model
// set of dots, counts it, enumerates it, and is compact.
TEST(CausalContextTest, AgreesWithASetOfDots) {
  ForEachSeed(1000, [](Rng& rng, int) {
    CausalContext c;
    std::set<Dot> model;
    const int steps = static_cast<int>(Uniform(rng, 1, 40));
    for (int s = 0; s < steps; ++s) {
      const uint64_t op = Uniform(rng, 0, 9);
      if (op < 6) {
        const Dot d{TestReplica(Uniform(rng, 0, 2)), Uniform(rng, 1, 15)};
        c.Insert(d);
        model.insert(d);
      } else if (op < 8) {
        const std::vector<Dot> dots = RandomDots(rng);
        c.Join(FromDots(dots));
        model.insert(dots.begin(), dots.end());
      } else {
        const ReplicaId r = TestReplica(Uniform(rng, 0, 2));
        uint64_t top = 0;
        for (const Dot& d : model) {
          if (d.replica == r) top = std::max(top, d.counter);
        }
        const Dot d = c.Next(r);
        ASSERT_EQ(d, (Dot{r, top + 1}));
        model.insert(d);
      }
      ASSERT_EQ(DotsOf(c), model);
      ASSERT_EQ(c.DotCount(), model.size());
      ASSERT_EQ(c.empty(), model.empty());
      for (size_t r = 0; r < 3; ++r) {
        for (uint64_t n = 0; n <= 16; ++n) {
          const Dot d{TestReplica(r), n};
          ASSERT_EQ(c.Contains(d), model.count(d) == 1) << n;
        }
      }
      ExpectCompact(c);
      if (::testing::Test::HasFailure()) return;
    }
  });
}

// Model check of the two-context queries behind delta-state anti-entropy: CountIn, ForEachDotIn
// and ForEachDotNotIn agree with the intersection and difference of the model sets, and give
// each replica's dots in ascending order.
TEST(CausalContextTest, IntersectionAndDifferenceAgreeWithSetsOfDots) {
  ForEachSeed(1000, [](Rng& rng, int) {
    const std::vector<Dot> mine_dots = RandomDots(rng);
    const std::vector<Dot> their_dots = RandomDots(rng);
    const CausalContext mine = FromDots(mine_dots);
    const CausalContext theirs = FromDots(their_dots);
    const std::set<Dot> a(mine_dots.begin(), mine_dots.end());
    const std::set<Dot> b(their_dots.begin(), their_dots.end());
    std::set<Dot> both, only_mine;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                          std::inserter(both, both.end()));
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                        std::inserter(only_mine, only_mine.end()));
    EXPECT_EQ(mine.CountIn(theirs), both.size());
    for (const bool in : {true, false}) {
      std::vector<Dot> got;
      const auto collect = [&](const Dot& d) {
        if (!got.empty() && got.back().replica == d.replica) {
          EXPECT_LT(got.back().counter, d.counter) << "a replica's dots out of order";
        }
        got.push_back(d);
      };
      if (in) {
        mine.ForEachDotIn(theirs, collect);
      } else {
        mine.ForEachDotNotIn(theirs, collect);
      }
      const std::set<Dot> got_set(got.begin(), got.end());
      EXPECT_EQ(got_set.size(), got.size()) << "a dot visited twice";
      EXPECT_EQ(got_set, in ? both : only_mine);
    }
  });
}

TEST(CausalContextTest, CountInSaturates) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  auto a = CausalContext::FromParts({{kA, kMax - 1}, {kB, kMax - 1}}, {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->CountIn(*a), kMax);
}

// Compactness: the same dots recorded in any order, one by one or through joins of any split,
// give the same representation.
TEST(CausalContextTest, EqualDotSetsHaveEqualRepresentations) {
  ForEachSeed(1000, [](Rng& rng, int) {
    std::vector<Dot> dots = RandomDots(rng);
    std::vector<Dot> sorted = dots;
    std::sort(sorted.begin(), sorted.end());
    const CausalContext reference = FromDots(sorted);
    ExpectCompact(reference);
    for (int k = 0; k < 4; ++k) {
      std::shuffle(dots.begin(), dots.end(), rng);
      ASSERT_EQ(FromDots(dots), reference);
      // Split into random parts, build each, join them in random order.
      std::vector<std::vector<Dot>> parts(Uniform(rng, 1, 4));
      for (const Dot& d : dots) parts[Uniform(rng, 0, parts.size() - 1)].push_back(d);
      CausalContext joined;
      for (const auto& p : parts) joined.Join(FromDots(p));
      ASSERT_EQ(joined, reference);
      ASSERT_EQ(joined.version_vector(), reference.version_vector());
      ASSERT_EQ(joined.dot_cloud(), reference.dot_cloud());
    }
  });
}

// A hostile peer can send a context claiming our replica used counter 2^64-1: the next dot
// must not wrap to 0 (a dot no context contains); the add fails and changes nothing.
TEST(CausalContextTest, NextRefusesAnExhaustedCounter) {
  const ReplicaId r{7};
  auto ctx = CausalContext::FromParts({{r, std::numeric_limits<uint64_t>::max()}}, {});
  ASSERT_TRUE(ctx.ok());
  CausalContext c = *ctx;
  EXPECT_THROW(c.Next(r), std::overflow_error);
  EXPECT_EQ(c, *ctx);

  auto set = ORSet::FromParts({}, CausalContext(*ctx));
  ASSERT_TRUE(set.ok());
  ORSet s = *set;
  s.Join(s.Add(ReplicaId{8}, Value()));  // another replica still adds
  const ORSet before = s;
  EXPECT_THROW(s.Add(r, Value::FromCanonical(std::string("\xa1x", 2))), std::overflow_error);
  EXPECT_EQ(s, before);
}

}  // namespace
}  // namespace convergent
