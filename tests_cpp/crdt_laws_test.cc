// Property tests of the CRDT laws, run for every CRDT type (typed tests). Every law is checked on
// the state itself (operator==), over thousands of seeded random histories of 3-5 replicas with
// small element domains, so that operations collide and concurrency is frequent. A failure names
// its seed; CONVERGENT_TEST_SEED=<seed> CONVERGENT_TEST_TRIALS=1 replays it.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Chance;
using test::Cluster;
using test::CrdtTraits;
using test::ForEachSeed;
using test::Joined;
using test::RandomCluster;
using test::Rng;
using test::Uniform;
using ::testing::PrintToString;

template <typename T>
class CrdtLawsTest : public ::testing::Test {};

// Every CRDT type under test; a new type needs a CrdtTraits specialisation and a line here.
using CrdtTypes = ::testing::Types<GCounter, PNCounter, LWWRegister, GSet, Flag, ORSet, MVRegister,
                                   ORMap, LWWMap, PNCounterMap, ORMultiMap>;

struct CrdtTypeNames {
  template <typename T>
  static std::string GetName(int) {
    return CrdtTraits<T>::kName;
  }
};
TYPED_TEST_SUITE(CrdtLawsTest, CrdtTypes, CrdtTypeNames);

TYPED_TEST(CrdtLawsTest, JoinIsCommutative) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    const Cluster<T> c = RandomCluster<T>(rng, 0, 60);
    const std::vector<T> ops = c.Operands(4);
    for (size_t i = 0; i < ops.size(); ++i) {
      for (size_t j = i + 1; j < ops.size(); ++j) {
        ASSERT_EQ(Joined(ops[i], ops[j]), Joined(ops[j], ops[i]))
            << "a=" << PrintToString(ops[i]) << "\nb=" << PrintToString(ops[j]);
      }
    }
  });
}

TYPED_TEST(CrdtLawsTest, JoinIsAssociative) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    const Cluster<T> c = RandomCluster<T>(rng, 0, 60);
    const std::vector<T> ops = c.Operands(4);
    for (int k = 0; k < 40; ++k) {
      const T& a = test::Pick(rng, ops);
      const T& b = test::Pick(rng, ops);
      const T& d = test::Pick(rng, ops);
      ASSERT_EQ(Joined(Joined(a, b), d), Joined(a, Joined(b, d)))
          << "a=" << PrintToString(a) << "\nb=" << PrintToString(b) << "\nc=" << PrintToString(d);
    }
  });
}

TYPED_TEST(CrdtLawsTest, JoinIsIdempotent) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    const Cluster<T> c = RandomCluster<T>(rng, 0, 60);
    const std::vector<T> ops = c.Operands(4);
    for (const T& a : ops) {
      ASSERT_EQ(Joined(a, a), a);
      // Receiving the same thing twice changes nothing the second time.
      const T& b = test::Pick(rng, ops);
      const T once = Joined(a, b);
      ASSERT_EQ(Joined(once, b), once) << "a=" << PrintToString(a) << "\nb=" << PrintToString(b);
    }
  });
}

TYPED_TEST(CrdtLawsTest, BottomIsIdentity) {
  using T = TypeParam;
  ASSERT_TRUE(T{}.empty());
  ASSERT_EQ(Joined(T{}, T{}), T{});
  ForEachSeed(1000, [](Rng& rng, int) {
    const Cluster<T> c = RandomCluster<T>(rng, 0, 60);
    for (const T& a : c.Operands(4)) {
      ASSERT_EQ(Joined(a, T{}), a);
      ASSERT_EQ(Joined(T{}, a), a);
    }
  });
}

// A mutator returns the exact change: the state after it is the state before it joined with its
// delta, and the delta is below the state after it.
TYPED_TEST(CrdtLawsTest, MutatorReturnsExactChange) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    Cluster<T> c(Uniform(rng, 3, 5), rng);
    for (int step = 0; step < 60; ++step) {
      if (!Chance(rng, 60)) {
        c.RandomStep();
        continue;
      }
      const size_t i = Uniform(rng, 0, c.size() - 1);
      const T before = c.state(i);
      const T delta = c.Mutate(i);
      ASSERT_EQ(Joined(before, delta), c.state(i))
          << "before=" << PrintToString(before) << "\ndelta=" << PrintToString(delta);
      ASSERT_EQ(Joined(c.state(i), delta), c.state(i)) << "delta=" << PrintToString(delta);
      ASSERT_EQ(CrdtTraits<T>::Read(Joined(before, delta)), CrdtTraits<T>::Read(c.state(i)));
    }
  });
}

// The deltas a replica produced, joined in order into a copy of its starting state, give exactly
// its current state; joined into another replica (that had seen the starting state), they give
// what joining the full state gives, one by one or grouped into one delta.
TYPED_TEST(CrdtLawsTest, DeltasEqualFullState) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    Cluster<T> c = RandomCluster<T>(rng, 0, 40);
    const size_t a = Uniform(rng, 0, c.size() - 1);
    const size_t b = (a + Uniform(rng, 1, c.size() - 1)) % c.size();
    const T start = c.state(a);
    c.Receive(b, start);
    std::vector<T> deltas;
    const int steps = static_cast<int>(Uniform(rng, 1, 40));
    for (int s = 0; s < steps; ++s) {
      if (Chance(rng, 50)) {
        deltas.push_back(c.Mutate(a));
      } else {
        c.RandomStep(/*frozen=*/a);  // others go on concurrently; nothing reaches a
      }
    }
    T replay = start;
    for (const T& d : deltas) replay.Join(d);
    ASSERT_EQ(replay, c.state(a)) << "start=" << PrintToString(start);

    const T via_state = Joined(c.state(b), c.state(a));
    T via_deltas = c.state(b);
    T group;
    for (const T& d : deltas) {
      via_deltas.Join(d);
      group.Join(d);
    }
    ASSERT_EQ(via_deltas, via_state) << "b=" << PrintToString(c.state(b));
    ASSERT_EQ(Joined(c.state(b), group), via_state) << "group=" << PrintToString(group);
  });
}

// Delta-state anti-entropy (convergent/crdt/delta_since.h), for the causal types: what a state
// sends a replica knowing only that replica's context, joined there, gives what joining the
// whole state gives; it is part of the sender's state (joining it there changes nothing), even
// for a context that is some other state's; and these small histories never remove enough for
// the whole state to be cheaper.
template <typename T>
class CausalCrdtLawsTest : public ::testing::Test {};
// The causal types: a dot store with a causal context (convergent/crdt/delta_since.h).
using CausalCrdtTypes =
    ::testing::Types<ORSet, MVRegister, ORMap, LWWMap, PNCounterMap, ORMultiMap>;
TYPED_TEST_SUITE(CausalCrdtLawsTest, CausalCrdtTypes, CrdtTypeNames);

TYPED_TEST(CausalCrdtLawsTest, DeltaSinceAContextJoinsLikeTheWholeState) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    const Cluster<T> c = RandomCluster<T>(rng, 0, 60);
    const std::vector<T> ops = c.Operands(4);
    for (const T& a : ops) {
      for (const T& b : ops) {
        const std::optional<T> d = b.DeltaSince(a.context());
        ASSERT_TRUE(d.has_value()) << "b=" << PrintToString(b);
        ASSERT_EQ(Joined(a, *d), Joined(a, b))
            << "a=" << PrintToString(a) << "\nb=" << PrintToString(b)
            << "\ndelta=" << PrintToString(*d);
        ASSERT_EQ(Joined(b, *d), b) << "b=" << PrintToString(b);
        const T& other = test::Pick(rng, ops);
        const std::optional<T> foreign = b.DeltaSince(other.context());
        ASSERT_TRUE(foreign.has_value());
        ASSERT_EQ(Joined(b, *foreign), b);
      }
    }
  });
}

// Any permutation, duplication and subset of the deltas of every replica, followed by the full
// states, leaves every replica (and a fresh one) in the same state: the join of the full states.
// Every delta, delivered at least once in any order, is enough on its own.
TYPED_TEST(CrdtLawsTest, AnyDeliveryOrderConverges) {
  using T = TypeParam;
  ForEachSeed(1000, [](Rng& rng, int) {
    Cluster<T> c = RandomCluster<T>(rng, 1, 60);
    const std::vector<T> finals = c.states();
    T expected;
    for (const T& s : finals) expected.Join(s);

    std::vector<const T*> all_deltas;
    for (const auto& p : c.log()) {
      for (int k = static_cast<int>(Uniform(rng, 1, 2)); k > 0; --k) all_deltas.push_back(&p.delta);
    }
    std::shuffle(all_deltas.begin(), all_deltas.end(), rng);
    T from_deltas;
    for (const T* d : all_deltas) from_deltas.Join(*d);
    ASSERT_EQ(from_deltas, expected);

    std::vector<T> receivers = finals;
    receivers.emplace_back();  // a replica that saw nothing
    for (T& r : receivers) {
      std::vector<const T*> inbox;
      for (const auto& p : c.log()) {
        const int copies = static_cast<int>(Uniform(rng, 0, 2));  // lost, delivered, duplicated
        for (int k = 0; k < copies; ++k) inbox.push_back(&p.delta);
      }
      std::shuffle(inbox.begin(), inbox.end(), rng);
      for (const T* d : inbox) r.Join(*d);
      std::vector<const T*> states;
      for (const T& s : finals) states.push_back(&s);
      std::shuffle(states.begin(), states.end(), rng);
      for (const T* s : states) r.Join(*s);
    }
    for (const T& r : receivers) {
      ASSERT_EQ(r, expected);
      ASSERT_EQ(CrdtTraits<T>::Read(r), CrdtTraits<T>::Read(expected));
    }
  });
}

}  // namespace
}  // namespace convergent
