// Removed-replica pruning in the Replicator (replica/pruner.h, replica/pruning_marker.h), with
// frames carried by hand: a replica writes, is removed, and the leader's pruning runs through
// markers, anti-entropy and full states until no key holds the removed replica, while every
// value stays what it was; late frames of the removed replica are dropped; snapshots carry the
// markers, and an old snapshot restored after the pruning is cleaned, not counted twice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using Cluster = test::ReplicatorCluster;
using test::GIncrement;
using test::SetAdd;
using test::SetRemove;

constexpr TimeMicros kSecond = 1'000'000;
const ReplicaId kGone{1002};

ReplicatorOptions PruningOptions() {
  ReplicatorOptions o = Cluster::Options();
  o.anti_entropy_interval = 0.5;
  o.pruning_interval = 1.0;
  o.max_pruning_dissemination = 2.0;
  o.pruning_marker_ttl = 30.0;
  return o;
}

const AnyCrdt* ValueOf(Replicator& r, const std::string& key, CrdtType type) {
  auto v = r.Get(key, type);
  return v.ok() ? *v : nullptr;
}

uint64_t Count(Replicator& r) {
  const AnyCrdt* v = ValueOf(r, "g", CrdtType::kGCounter);
  return v == nullptr ? 0 : v->get_if<GCounter>()->value();
}

std::vector<Value> Elements(Replicator& r) {
  const AnyCrdt* v = ValueOf(r, "s", CrdtType::kORSet);
  return v == nullptr ? std::vector<Value>{} : v->get_if<ORSet>()->Elements();
}

bool HoldsGone(Replicator& r) {
  const AnyCrdt* g = ValueOf(r, "g", CrdtType::kGCounter);
  const AnyCrdt* s = ValueOf(r, "s", CrdtType::kORSet);
  return (g != nullptr && g->NeedsPruningFrom(kGone)) ||
         (s != nullptr && s->NeedsPruningFrom(kGone));
}

// Nodes 0..2 write; node 2 (replica 1002) is then removed, and nodes 0 and 1 go on alone.
class ReplicatorPruningTest : public ::testing::Test {
 protected:
  ReplicatorPruningTest() : c_(3, PruningOptions()) {
    for (NodeId i = 0; i < 3; ++i) {
      const ReplicaId r = c_[i].replica_id();
      EXPECT_TRUE(
          c_[i]
              .Update("g", CrdtType::kGCounter, GIncrement(r, 10 + i), Consistency::kLocal, 0)
              .ok());
      EXPECT_TRUE(c_[i]
                      .Update("s", CrdtType::kORSet,
                              SetAdd(r, StringValue("e" + std::to_string(i))), Consistency::kLocal,
                              0)
                      .ok());
    }
    c_.TickAll(kSecond);
    c_.Pump(kSecond);
    expected_count_ = Count(c_[0]);
    expected_elements_ = Elements(c_[0]);
    for (NodeId i = 0; i < 2; ++i) {
      c_[i].SetPeers({0, 1});
      c_[i].SetMemberReplicas({c_[0].replica_id(), c_[1].replica_id()});
      c_[i].RemoveReplica(kGone, kSecond);
    }
    c_[0].SetPruningLeader(true);
  }

  // Runs nodes 0 and 1 until `until`, checking their values after every step.
  void RunSurvivors(TimeMicros from, TimeMicros until) {
    const auto survivors = [](NodeId a, NodeId b, FrameKind) { return a != 2 && b != 2; };
    for (TimeMicros t = from; t <= until; t += kSecond / 10) {
      c_[0].Tick(t);
      c_[1].Tick(t);
      c_.Pump(t, survivors);
      for (NodeId i = 0; i < 2; ++i) {
        ASSERT_EQ(Count(c_[i]), expected_count_) << "node " << i << " at " << t;
        ASSERT_EQ(Elements(c_[i]), expected_elements_) << "node " << i << " at " << t;
      }
    }
  }

  Cluster c_;
  uint64_t expected_count_ = 0;
  std::vector<Value> expected_elements_;
};

TEST(ReplicatorPruningOptionsTest, AMarkerTtlNotLongerThanItsDisseminationIsRefused) {
  ReplicatorOptions o = PruningOptions();
  EXPECT_TRUE(o.Validate().ok());
  o.pruning_marker_ttl = o.max_pruning_dissemination;
  EXPECT_FALSE(o.Validate().ok());
}

TEST_F(ReplicatorPruningTest, TheRemovedReplicaLeavesEveryKeyAndTheValuesStay) {
  ASSERT_EQ(expected_count_, 33u);
  ASSERT_TRUE(HoldsGone(c_[0]) && HoldsGone(c_[1]));
  RunSurvivors(kSecond, 20 * kSecond);
  EXPECT_FALSE(HoldsGone(c_[0]));
  EXPECT_FALSE(HoldsGone(c_[1]));
  EXPECT_EQ(c_[0].metrics().prunings_started, 2u);  // both keys held the removed replica
  EXPECT_EQ(c_[0].metrics().prunings_performed, 2u);
  EXPECT_EQ(c_[1].metrics().prunings_performed, 0u);  // the owner prunes, the others clean
  EXPECT_EQ(c_[0].StoreDigest(), c_[1].StoreDigest());
  // The counter holds the live writers' slots and the pruning target's, no more.
  EXPECT_EQ(ValueOf(c_[1], "g", CrdtType::kGCounter)->get_if<GCounter>()->slots().size(), 3u);
}

TEST_F(ReplicatorPruningTest, LateFramesOfTheRemovedReplicaAreDroppedAndCounted) {
  RunSurvivors(kSecond, 20 * kSecond);
  // The removed incarnation's last delta arrives now (its node is still reachable by address).
  ASSERT_TRUE(c_[2]
                  .Update("g", CrdtType::kGCounter, GIncrement(kGone, 100), Consistency::kLocal,
                          21 * kSecond)
                  .ok());
  c_[2].SetPeers({0, 1, 2});
  c_[0].SetPeers({0, 1, 2});  // its node id is a member (a new incarnation would have it)
  c_[2].Tick(22 * kSecond);
  for (const test::Sent& s : c_.Take()) {
    if (s.from == 2) c_.Deliver(s, 22 * kSecond);
  }
  EXPECT_GE(c_[0].metrics().frames_from_removed, 1u);
  EXPECT_EQ(Count(c_[0]), expected_count_);
  EXPECT_EQ(Count(c_[1]), expected_count_);
}

TEST_F(ReplicatorPruningTest, RecordsAreLetGoAfterTheirTtlAndNotTakenBack) {
  RunSurvivors(kSecond, 20 * kSecond);
  ASSERT_EQ(c_[1].PruningRecords("g").size(), 1u);
  ASSERT_EQ(c_[1].PruningRecords("s").size(), 1u);
  RunSurvivors(20 * kSecond, 60 * kSecond);  // the records' TTL (30 s) passes
  for (NodeId i = 0; i < 2; ++i) {
    EXPECT_TRUE(c_[i].PruningRecords("g").empty()) << "node " << i;
    EXPECT_TRUE(c_[i].PruningRecords("s").empty()) << "node " << i;
  }
  EXPECT_EQ(c_[0].StoreDigest(), c_[1].StoreDigest());
  EXPECT_FALSE(HoldsGone(c_[0]));
}

// A snapshot taken before the pruning (it holds the removed replica's slot) restored by a new
// replica that then meets a pruned one: its value is cleaned, the count stays, and its own
// snapshot records carry the markers.
TEST_F(ReplicatorPruningTest, AnOldSnapshotRestoredAfterThePruningIsCleanedNotCountedTwice) {
  c_[1].TrackChanges();
  c_[2].TrackChanges();
  // The removed node's records from before the pruning (a final snapshot of its last life, of
  // writes that had reached the others: unchanged values, written again).
  ASSERT_TRUE(
      c_[2]
          .Update("g", CrdtType::kGCounter, GIncrement(kGone, 0), Consistency::kLocal, kSecond)
          .ok());
  ASSERT_TRUE(c_[2]
                  .Update("s", CrdtType::kORSet, SetRemove(StringValue("none")),
                          Consistency::kLocal, kSecond)
                  .ok());
  const std::vector<Replicator::SnapshotChange> old = c_[2].TakeChanges();
  RunSurvivors(kSecond, 20 * kSecond);
  ASSERT_FALSE(HoldsGone(c_[0]));
  // The pruned node's records carry the markers.
  const std::vector<Replicator::SnapshotChange> now = c_[1].TakeChanges();
  Replicator restored_new(5, ReplicaId{1005}, PruningOptions(), 5);
  ASSERT_TRUE(restored_new.Restore(now).ok());
  EXPECT_FALSE(HoldsGone(restored_new));
  EXPECT_EQ(Count(restored_new), expected_count_);
  // The removed node's pre-pruning snapshot, restored by its next incarnation.
  Replicator next(2, ReplicaId{1012}, PruningOptions(), 12);
  ASSERT_TRUE(next.Restore(old).ok());
  ASSERT_TRUE(HoldsGone(next));
  // It meets the pruned node 0: anti-entropy brings it node 0's full states with their markers,
  // and it cleans its own value before joining them (node 0 cleans what comes from it).
  next.SetPeers({0, 2});
  c_[0].SetPeers({0, 1, 2});
  next.Tick(21 * kSecond);
  c_[0].SyncWith(2);
  for (int step = 0; step < 40; ++step) {
    const TimeMicros t = 21 * kSecond + step * kSecond / 10;
    next.Tick(t);
    c_[0].Tick(t);
    for (bool moved = true; moved;) {
      moved = false;
      for (OutgoingFrame& f : c_[0].TakeOutgoing()) {
        if (!f.to || *f.to == 2) next.Receive(f.bytes, t), moved = true;
      }
      for (OutgoingFrame& f : next.TakeOutgoing()) {
        if (!f.to || *f.to == 0) c_[0].Receive(f.bytes, t), moved = true;
      }
    }
  }
  EXPECT_FALSE(HoldsGone(next));
  EXPECT_EQ(Count(next), expected_count_);
  EXPECT_EQ(Count(c_[0]), expected_count_);
  EXPECT_EQ(Elements(next), expected_elements_);
}

}  // namespace
}  // namespace convergent
