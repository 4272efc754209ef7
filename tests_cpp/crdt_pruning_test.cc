// Property tests of removed-replica pruning (convergent/crdt/pruning.h), for every type that
// prunes. Each trial runs two worlds of four replicas side by side with the same random
// operations and the same exchanges: in one nothing is pruned, in the other replica 3 dies, the
// owner (replica 0) gathers everyone's state and prunes it, and the record spreads with the
// owner's state while the others go on updating, removing and exchanging states and deltas.
// Every replica must read the same value in both worlds after every step, the pruned world must
// end with no trace of the removed replica, and the join of states with and without the
// pruning stays commutative, associative and idempotent. A failure names its seed;
// CONVERGENT_TEST_SEED=<seed> CONVERGENT_TEST_TRIALS=1 replays it.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "crdt_test_support.h"

namespace convergent {
namespace {

using test::Chance;
using test::CrdtTraits;
using test::ForEachSeed;
using test::Rng;
using test::TestReplica;
using test::Uniform;
using ::testing::PrintToString;

constexpr size_t kReplicas = 4;
constexpr size_t kOwner = 0;
constexpr size_t kRemoved = 3;
ReplicaId Target() { return PruningTarget(TestReplica(kOwner)); }

// A state of the pruned world and whether it holds the pruning record (as a key's marker
// does in the replicator).
template <typename T>
struct Held {
  T state;
  bool pruned = false;
};

// The join of the pruned world: a side that holds the record cleans the other before joining,
// and a side that learns the record from the other cleans itself first.
template <typename T>
void JoinHeld(Held<T>& into, const Held<T>& from, const PruningRecord& p) {
  T incoming = from.state;
  if (from.pruned && !into.pruned) {
    into.state.PruningCleanup(p);
    into.pruned = true;
  }
  if (into.pruned) incoming.PruningCleanup(p);
  into.state.Join(incoming);
}

template <typename T>
class CrdtPruningTest : public ::testing::Test {};

using PrunableTypes = ::testing::Types<GCounter, PNCounter, ORSet, MVRegister, ORMap, LWWMap,
                                       PNCounterMap, ORMultiMap>;
struct TypeNames {
  template <typename T>
  static std::string GetName(int) {
    return CrdtTraits<T>::kName;
  }
};
TYPED_TEST_SUITE(CrdtPruningTest, PrunableTypes, TypeNames);

// The two worlds. plain[i] and pruned[i] see the same operations and exchanges. The record travels
// with states only, as the replicator sends it: a replica that holds it sends its full state
// instead of a delta until every replica holds it (a delta of a replica that holds it may name the
// target's dots, which mean nothing to a replica that does not), and a replica that holds it
// cleans the deltas it receives.
template <typename T>
struct Worlds {
  std::vector<T> plain = std::vector<T>(kReplicas);
  std::vector<Held<T>> pruned = std::vector<Held<T>>(kReplicas);
  std::optional<PruningRecord> record;

  void Prune(const PruningRecord& p) {
    record = p;
    pruned[kOwner].pruned = true;
  }
  bool EveryoneHolds() const {
    for (size_t i = 0; i < kReplicas; ++i) {
      if (i != kRemoved && !pruned[i].pruned) return false;
    }
    return true;
  }

  void JoinPruned(size_t into, const Held<T>& from) {
    if (record) {
      JoinHeld(pruned[into], from, *record);
    } else {
      pruned[into].state.Join(from.state);
    }
  }

  // Replica i mutates; its delta reaches `to` (if any) in both worlds.
  void Mutate(size_t i, Rng& rng, std::optional<size_t> to) {
    Rng twin = rng;
    const T d_plain = CrdtTraits<T>::Mutate(plain[i], TestReplica(i), rng);
    const T d_pruned = CrdtTraits<T>::Mutate(pruned[i].state, TestReplica(i), twin);
    ASSERT_TRUE(rng == twin) << "the mutation drew differently in the two worlds";
    if (!to) return;
    if (pruned[i].pruned && !EveryoneHolds()) {  // the full state goes instead
      Exchange(*to, i);
      return;
    }
    plain[*to].Join(d_plain);
    JoinPruned(*to, Held<T>{d_pruned, false});
  }
  // `into` joins the full state of `from`, in both worlds.
  void Exchange(size_t into, size_t from) {
    plain[into].Join(plain[from]);
    JoinPruned(into, pruned[from]);
  }
  bool deltas = false;  // whether mutations send deltas

  void ExpectSameValues(const char* when) {
    for (size_t i = 0; i < kReplicas; ++i) {
      ASSERT_EQ(PrintToString(CrdtTraits<T>::Read(plain[i])),
                PrintToString(CrdtTraits<T>::Read(pruned[i].state)))
          << when << ", replica " << i << "\nplain:  " << PrintToString(plain[i])
          << "\npruned: " << PrintToString(pruned[i].state);
    }
  }
};

// Random operations of `writers` and exchanges among `replicas`, checking values after each.
template <typename T>
void Churn(Worlds<T>& w, Rng& rng, const std::vector<size_t>& writers,
           const std::vector<size_t>& replicas, int steps, const char* when) {
  for (int s = 0; s < steps; ++s) {
    if (Chance(rng, 60)) {
      const size_t i = test::Pick(rng, writers);
      std::optional<size_t> to;
      if (w.deltas && Chance(rng, 50)) to = test::Pick(rng, replicas);
      w.Mutate(i, rng, to);
    } else {
      w.Exchange(test::Pick(rng, replicas), test::Pick(rng, replicas));
    }
    if (::testing::Test::HasFatalFailure()) return;
    w.ExpectSameValues(when);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TYPED_TEST(CrdtPruningTest, PruningNeverChangesWhatAReplicaReads) {
  using T = TypeParam;
  int pruned_trials = 0;
  ForEachSeed(400, [&](Rng& rng, int) {
    Worlds<T> w;
    w.deltas = Chance(rng, 50);
    const std::vector<size_t> all = {0, 1, 2, 3};
    const std::vector<size_t> live = {0, 1, 2};
    // 1. Everyone writes, the removed replica included.
    Churn(w, rng, all, all, static_cast<int>(Uniform(rng, 5, 40)), "before the removal");
    // 2. The removed replica is gone; what it wrote may still be spreading.
    w.Exchange(test::Pick(rng, live), kRemoved);
    Churn(w, rng, live, live, static_cast<int>(Uniform(rng, 0, 10)), "after the removal");
    // 3. Every member has seen the marker: the owner holds each one's state as of then (and
    // nobody takes anything from the removed replica any more). They go on meanwhile.
    for (size_t i : live) {
      w.Exchange(kOwner, i);
      Churn(w, rng, live, live, static_cast<int>(Uniform(rng, 0, 4)), "while marking");
    }
    // 4. The owner prunes.
    std::optional<PruningRecord> p = w.pruned[kOwner].state.Prune(TestReplica(kRemoved), Target());
    if (!p) return;  // deferred (a multi-value register): the worlds stay alike
    ++pruned_trials;
    w.Prune(*p);
    EXPECT_FALSE(w.pruned[kOwner].state.NeedsPruningFrom(TestReplica(kRemoved)));
    EXPECT_EQ(PrintToString(CrdtTraits<T>::Read(w.plain[kOwner])),
              PrintToString(CrdtTraits<T>::Read(w.pruned[kOwner].state)))
        << "the owner's value changed";
    // 5. The record spreads with states while everyone goes on.
    Churn(w, rng, live, live, static_cast<int>(Uniform(rng, 10, 60)), "after the pruning");
    // 6. Everyone exchanges with everyone: both worlds converge, the pruned one without a trace
    // of the removed replica.
    for (int round = 0; round < 2; ++round) {
      for (size_t i : live) {
        for (size_t j : live) w.Exchange(i, j);
      }
    }
    w.ExpectSameValues("after full exchange");
    for (size_t i : live) {
      EXPECT_EQ(w.pruned[i].state, w.pruned[kOwner].state) << "replica " << i;
      EXPECT_FALSE(w.pruned[i].state.NeedsPruningFrom(TestReplica(kRemoved)))
          << PrintToString(w.pruned[i].state);
      // A pruned state travels and is stored as bytes: it must decode to itself.
      auto back = Decode<T>(Encode(w.pruned[i].state));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, w.pruned[i].state) << PrintToString(w.pruned[i].state);
    }
    // 7. Life goes on.
    Churn(w, rng, live, live, static_cast<int>(Uniform(rng, 0, 30)), "later");
    for (size_t i : live) {
      for (size_t j : live) w.Exchange(i, j);
    }
    w.ExpectSameValues("at the end");
  });
  // The trials must exercise the pruning (deferrals are rare).
  EXPECT_GT(pruned_trials, test::Trials(400) / 2);
}

TYPED_TEST(CrdtPruningTest, JoinLawsHoldWithPrunedAndUnprunedStatesMixed) {
  using T = TypeParam;
  ForEachSeed(300, [&](Rng& rng, int) {
    Worlds<T> w;
    w.deltas = true;
    const std::vector<size_t> all = {0, 1, 2, 3};
    const std::vector<size_t> live = {0, 1, 2};
    Churn(w, rng, all, all, static_cast<int>(Uniform(rng, 5, 40)), "before");
    for (size_t i : live) w.Exchange(kOwner, i);
    std::optional<PruningRecord> p = w.pruned[kOwner].state.Prune(TestReplica(kRemoved), Target());
    if (!p) return;
    w.Prune(*p);
    Churn(w, rng, live, live, static_cast<int>(Uniform(rng, 0, 15)), "after");
    // Operands: the live replicas (some with the record, some without).
    std::vector<Held<T>> ops = {w.pruned[0], w.pruned[1], w.pruned[2]};
    auto joined = [&](Held<T> a, const Held<T>& b) {
      JoinHeld(a, b, *p);
      return a;
    };
    for (const Held<T>& a : ops) {
      const Held<T> aa = joined(a, a);
      EXPECT_EQ(aa.state, a.state) << "idempotence";
      for (const Held<T>& b : ops) {
        const Held<T> ab = joined(a, b), ba = joined(b, a);
        EXPECT_EQ(ab.state, ba.state) << "commutativity";
        for (const Held<T>& c : ops) {
          EXPECT_EQ(joined(joined(a, b), c).state, joined(a, joined(b, c)).state)
              << "associativity";
        }
      }
    }
  });
}

// ModifiedBy names exactly the replicas a value needs pruning from, and a cleanup with the record
// that forgets one (replica/stale_restore.h) leaves no trace of it and keeps every other.
TYPED_TEST(CrdtPruningTest, ModifiedByNamesTheWritersAndForgettingOneLeavesNoTraceOfIt) {
  using T = TypeParam;
  ForEachSeed(200, [](Rng& rng, int) {
    std::vector<T> states(kReplicas);
    for (int s = 0; s < 40; ++s) {
      const size_t i = static_cast<size_t>(Uniform(rng, 0, kReplicas - 1));
      if (Chance(rng, 70)) {
        CrdtTraits<T>::Mutate(states[i], TestReplica(i), rng);
      } else {
        states[i].Join(states[static_cast<size_t>(Uniform(rng, 0, kReplicas - 1))]);
      }
    }
    T all;
    for (const T& s : states) all.Join(s);
    const std::vector<ReplicaId> by = all.ModifiedBy();
    ASSERT_TRUE(std::is_sorted(by.begin(), by.end()));
    for (size_t i = 0; i < kReplicas; ++i) {
      const ReplicaId r = TestReplica(i);
      ASSERT_EQ(all.NeedsPruningFrom(r), std::binary_search(by.begin(), by.end(), r)) << i;
    }
    T forgot = all;
    forgot.PruningCleanup(PruningRecord::Forgetting(TestReplica(kRemoved)));
    EXPECT_FALSE(forgot.NeedsPruningFrom(TestReplica(kRemoved)));
    std::vector<ReplicaId> left = by;
    std::erase(left, TestReplica(kRemoved));
    EXPECT_EQ(forgot.ModifiedBy(), left);
    // Forgetting a replica that wrote nothing changes nothing.
    T same = all;
    same.PruningCleanup(PruningRecord::Forgetting(ReplicaId::FromName("never wrote")));
    EXPECT_EQ(PrintToString(same), PrintToString(all));
  });
}

// The target shape: a writer restarted 1,000 times leaves one slot per incarnation;
// pruning each into a live replica keeps the counter at the size of its live replicas, its
// value exact at every step.
TEST(CrdtPruningTest, ACounterOfAThousandIncarnationsPrunesToItsLiveReplicas) {
  GCounter c;
  const ReplicaId owner = ReplicaId::FromName("owner");
  uint64_t expected = 0;
  for (int life = 0; life < 1000; ++life) {
    const ReplicaId writer = ReplicaId::FromName("writer-" + std::to_string(life));
    c.Increment(writer, 3);
    c.Increment(owner, 1);
    expected += 4;
    ASSERT_TRUE(c.Prune(writer, PruningTarget(owner)).has_value());
    ASSERT_EQ(c.value(), expected);
  }
  EXPECT_EQ(c.slots().size(), 2u);  // the owner's and the target's
}

// The target holds the moved values beside the owner's; a second moved value beside one waits.
TEST(CrdtPruningTest, AMultiValueRegisterWithTwoMovedValuesDefersItsPruning) {
  const ReplicaId owner = ReplicaId::FromName("owner"), gone = ReplicaId::FromName("gone");
  MVRegister a, b;
  a.Set(owner, test::UintValue(1));
  b.Set(gone, test::UintValue(2));
  a.Join(b);                                                     // concurrent: both values live
  ASSERT_TRUE(a.Prune(gone, PruningTarget(owner)).has_value());  // the target has no value
  EXPECT_EQ(a.Values(), (std::vector<Value>{test::UintValue(1), test::UintValue(2)}));
  MVRegister c;  // a second removed replica's concurrent value: the target holds one already
  c.Set(ReplicaId::FromName("gone too"), test::UintValue(4));
  a.Join(c);
  const MVRegister before = a;
  EXPECT_FALSE(a.Prune(ReplicaId::FromName("gone too"), PruningTarget(owner)).has_value());
  EXPECT_EQ(a, before);
  a.Set(owner, test::UintValue(3));  // a write resolves them
  EXPECT_TRUE(a.Prune(ReplicaId::FromName("gone too"), PruningTarget(owner)).has_value());
  EXPECT_FALSE(a.NeedsPruningFrom(gone));
  EXPECT_EQ(a.Values(), std::vector<Value>{test::UintValue(3)});
}

// A map's counter keeps its value when the removed replica's total folds into the owner's.
TEST(CrdtPruningTest, AMapCounterFoldsTheRemovedTotalIntoTheOwners) {
  const ReplicaId owner = ReplicaId::FromName("owner"), gone = ReplicaId::FromName("gone");
  PNCounterMap a, b;
  const Value k = test::UintValue(100);
  a.Increment(owner, k, 5);
  b.Increment(gone, k, -2);
  a.Join(b);
  ASSERT_EQ(a.Get(k), 3);
  ASSERT_TRUE(a.Prune(gone, PruningTarget(owner)).has_value());
  EXPECT_EQ(a.Get(k), 3);
  ASSERT_TRUE(a.Prune(ReplicaId::FromName("never wrote"), PruningTarget(owner)).has_value());
  EXPECT_EQ(std::get<CounterStore>(a.map().Find(k)->parts().front().store).size(), 2u);
  a.Increment(owner, k, 1);
  EXPECT_EQ(a.Get(k), 4);
}

// A remove of a map counter's key that observed the removed replica's total but not the owner's
// latest increment takes the removed total away and leaves the owner's, as without pruning.
TEST(CrdtPruningTest, ARemoveConcurrentWithAnIncrementKeepsOnlyTheIncrementersTotal) {
  const ReplicaId owner = ReplicaId::FromName("owner"), gone = ReplicaId::FromName("gone");
  const ReplicaId target = PruningTarget(owner);
  const Value k = test::UintValue(100);
  PNCounterMap o, b, g;
  g.Increment(gone, k, 10);
  o.Join(g);
  b.Join(g);
  o.Increment(owner, k, 1);       // not seen by b
  PNCounterMap rm = b.Remove(k);  // observed only the removed replica's total
  auto p = o.Prune(gone, target);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(o.Get(k), 11);
  rm.PruningCleanup(*p);
  o.Join(rm);
  EXPECT_EQ(o.Get(k), 1);
}

// A remove that observed both folded totals removes the fold.
TEST(CrdtPruningTest, ARemoveThatObservedBothFoldedTotalsRemovesTheFold) {
  const ReplicaId owner = ReplicaId::FromName("owner"), gone = ReplicaId::FromName("gone");
  const Value k = test::UintValue(100);
  PNCounterMap o, b, g;
  g.Increment(gone, k, 10);
  o.Join(g);
  o.Increment(owner, k, 1);
  b.Join(o);
  PNCounterMap rm = b.Remove(k);
  auto p = o.Prune(gone, PruningTarget(owner));
  ASSERT_TRUE(p.has_value());
  PNCounterMap cleaned = rm;
  cleaned.PruningCleanup(*p);
  o.Join(cleaned);
  EXPECT_FALSE(o.Contains(k));
  b.PruningCleanup(*p);
  b.Join(o);
  EXPECT_EQ(b, o);
}

// A remove that observed the removed replica's dot, made before its replica learned of the
// pruning, still removes the element the dot became.
TEST(CrdtPruningTest, ARemoveThatObservedAMovedDotRemovesWhatItBecame) {
  const ReplicaId owner = ReplicaId::FromName("owner"), gone = ReplicaId::FromName("gone"),
                  other = ReplicaId::FromName("other");
  ORSet g;
  g.Add(gone, test::UintValue(7));
  ORSet o = g, b = g;
  static_cast<void>(other);
  auto p = o.Prune(gone, PruningTarget(owner));
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(o.Contains(test::UintValue(7)));
  ORSet remove = b.Remove(test::UintValue(7));  // b has not heard of the pruning
  ORSet cleaned = remove;
  cleaned.PruningCleanup(*p);  // the owner cleans the delta it receives
  o.Join(cleaned);
  EXPECT_FALSE(o.Contains(test::UintValue(7)));
  b.PruningCleanup(*p);  // and b, on receiving the owner's state
  b.Join(o);
  EXPECT_FALSE(b.Contains(test::UintValue(7)));
  EXPECT_EQ(b, o);
}

}  // namespace
}  // namespace convergent
