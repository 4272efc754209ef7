// Safe tombstone collection (replica/tombstone_collector.h): a tombstone goes only once every
// member has it, a member cut off blocks it, nothing collected comes back through a late copy or
// a replica restored from before, and a new node's own writes survive its first contact.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "convergent/crdt/gcounter.h"
#include "convergent/replicator.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using Cluster = test::ReplicatorCluster;
using test::GAdd;
using test::GCount;
using test::GIncrement;
using test::GLive;

constexpr TimeMicros kSecond = 1'000'000;

ReplicatorOptions Options() {
  ReplicatorOptions o = Cluster::Options();
  o.tombstone_ttl = 60.0;
  o.prune_interval = 20.0;
  return o;
}

// Nodes 0 and 1 are the members: node 2 left.
void OnlyTwoMembers(Cluster& c) {
  std::vector<ReplicaId> two = {c[0].replica_id(), c[1].replica_id()};
  std::sort(two.begin(), two.end());
  c[0].SetMemberReplicas(two);
  c[1].SetMemberReplicas(two);
}

// Frames to or from node `cut` are lost.
Cluster::Filter Without(NodeId cut) {
  return [cut](NodeId from, NodeId to, FrameKind) { return from != cut && to != cut; };
}

TEST(TombstoneCollectionTest, AMemberCutOffBlocksCollectionUntilItHasTheTombstone) {
  Cluster c(3, Options());
  c.SetMembers();
  ASSERT_TRUE(GAdd(c[0], "k", 5, 0));
  TimeMicros t = c.Run(kSecond, 5 * kSecond, kSecond);
  ASSERT_EQ(GCount(c[2], "k"), 5u);

  // Node 2 is cut off; the delete happens without it, and time passes far beyond the TTL.
  ASSERT_TRUE(c[0].Delete("k", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  t = c.Run(t + kSecond, t + 1000 * kSecond, 5 * kSecond, Without(2));
  EXPECT_EQ(c[0].tombstone_count(), 1u);  // node 2 has not said it has it: kept
  EXPECT_EQ(c[1].tombstone_count(), 1u);
  EXPECT_TRUE(GLive(c[2], "k"));
  EXPECT_EQ(c[0].metrics().tombstones_collected, 0u);

  // Back: anti-entropy gives it the tombstone, its key goes, and only then is it collected.
  t = c.Run(t + kSecond, t + 60 * kSecond, 5 * kSecond);
  EXPECT_FALSE(GLive(c[2], "k"));
  EXPECT_TRUE(c[2].IsDeleted("k"));
  t = c.Run(t + kSecond, t + 300 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].tombstone_count(), 0u) << i;
    EXPECT_FALSE(GLive(c[i], "k")) << i;
  }
  EXPECT_EQ(c[0].StoreDigest(), c[2].StoreDigest());
}

TEST(TombstoneCollectionTest, MembersNotKnownMeansNothingIsCollected) {
  Cluster c(2, Options());  // no SetMembers: the replicator does not know who must have it
  ASSERT_TRUE(GAdd(c[0], "k", 1, 0));
  TimeMicros t = c.Run(kSecond, 3 * kSecond, kSecond);
  ASSERT_TRUE(c[0].Delete("k", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  c.Run(t + kSecond, t + 1000 * kSecond, 5 * kSecond);
  EXPECT_EQ(c[0].tombstone_count(), 1u);
  EXPECT_EQ(c[1].tombstone_count(), 1u);
}

TEST(TombstoneCollectionTest, ALateTombstoneDoesNotDeleteTheKeyWrittenAgain) {
  Cluster c(2, Options());
  c.SetMembers();
  ASSERT_TRUE(GAdd(c[0], "k", 1, 0));
  TimeMicros t = c.Run(kSecond, 3 * kSecond, kSecond);
  ASSERT_TRUE(c[0].Delete("k", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  c.TickAll(t + kSecond);
  std::vector<test::Sent> late = c.Take();  // the delta batch with the tombstone, held back
  ASSERT_FALSE(late.empty());
  t = c.Run(t + 2 * kSecond, t + 400 * kSecond, 5 * kSecond);  // anti-entropy spreads it
  ASSERT_EQ(c[0].tombstone_count(), 0u);
  ASSERT_EQ(c[1].tombstone_count(), 0u);
  ASSERT_TRUE(GAdd(c[1], "k", 7, t));  // the name is free again
  t = c.Run(t + kSecond, t + 3 * kSecond, kSecond);
  ASSERT_EQ(GCount(c[0], "k"), 7u);

  for (const test::Sent& s : late) c.Deliver(s, t);  // the old tombstone arrives at last
  EXPECT_EQ(GCount(c[1], "k"), 7u);
  EXPECT_FALSE(c[1].IsDeleted("k"));
  EXPECT_GE(c[1].metrics().tombstones_collected_ignored, 1u);
}

// A node that left is restored later from a snapshot taken before a delete the others have
// collected since: the deleted key does not come back, the keys the others still hold keep what
// it had written, and a key only it held (possibly deleted, nobody can tell) is dropped.
TEST(TombstoneCollectionTest, AReplicaRestoredFromBeforeACollectionDoesNotBringTheKeyBack) {
  Cluster c(3, Options());
  c.SetMembers();
  c[2].TrackChanges();  // node 2 keeps a snapshot of its whole store
  ASSERT_TRUE(GAdd(c[0], "gone", 3, 0));
  ASSERT_TRUE(GAdd(c[0], "kept", 4, 0));
  TimeMicros t = c.Run(kSecond, 3 * kSecond, kSecond);
  ASSERT_EQ(GCount(c[2], "gone"), 3u);
  // Node 2 writes what it will not manage to send: more on "kept", and a key of its own.
  ASSERT_TRUE(GAdd(c[2], "kept", 10, t));
  ASSERT_TRUE(GAdd(c[2], "mine", 1, t));
  c[2].Tick(t);
  c[2].TakeOutgoing();
  const std::vector<Replicator::SnapshotChange> snapshot = c[2].TakeChanges();

  // Node 2 leaves: the members are 0 and 1. They delete "gone" and collect it.
  OnlyTwoMembers(c);
  ASSERT_TRUE(c[0].Delete("gone", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  t = c.Run(t + kSecond, t + 500 * kSecond, 5 * kSecond, Without(2));
  ASSERT_EQ(c[0].tombstone_count(), 0u);
  ASSERT_EQ(c[1].tombstone_count(), 0u);
  ASSERT_FALSE(GLive(c[0], "gone"));

  // Node 2 comes back as a new incarnation restored from its old snapshot.
  Replicator& back = c.Replace(2, ReplicaId{2002}, Options());
  ASSERT_TRUE(back.Restore(snapshot).ok());
  ASSERT_TRUE(GLive(back, "gone"));
  ASSERT_EQ(GCount(back, "kept"), 14u);
  c.SetMembers();
  t = c.Run(t + kSecond, t + 200 * kSecond, 5 * kSecond);

  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_FALSE(GLive(c[i], "gone")) << i;
    EXPECT_EQ(GCount(c[i], "kept"), 14u) << i;  // node 2's unsent 10 kept
    EXPECT_FALSE(GLive(c[i], "mine")) << i;     // only it held it: dropped
  }
  EXPECT_EQ(back.metrics().stale_catch_ups, 1u);
  EXPECT_EQ(back.metrics().keys_quarantined, 3u);
  EXPECT_EQ(back.metrics().keys_unquarantined, 1u);  // kept
  EXPECT_EQ(back.metrics().keys_dropped_stale, 2u);  // gone, mine
  EXPECT_EQ(c[0].StoreDigest(), back.StoreDigest());
  EXPECT_EQ(c[1].StoreDigest(), back.StoreDigest());
}

TEST(TombstoneCollectionTest, ANewNodesOwnWritesSurviveItsFirstContact) {
  Cluster c(3, Options());
  c.SetMembers();
  ASSERT_TRUE(GAdd(c[0], "old", 1, 0));
  TimeMicros t = c.Run(kSecond, 3 * kSecond, kSecond);
  ASSERT_TRUE(c[0].Delete("old", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  OnlyTwoMembers(c);
  t = c.Run(t + kSecond, t + 500 * kSecond, 5 * kSecond, Without(2));
  ASSERT_EQ(c[0].tombstone_count(), 0u);

  // A brand-new node (empty store) writes before it has heard anyone, then meets the others.
  Replicator& fresh = c.Replace(2, ReplicaId{3003}, Options());
  fresh.Tick(t);
  ASSERT_TRUE(GAdd(fresh, "new", 2, t));
  ASSERT_TRUE(
      GAdd(fresh, "old", 9, t));  // a name freed by the collection: written again, legitimately
  c.SetMembers();
  t = c.Run(t + kSecond, t + 100 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_EQ(GCount(c[i], "new"), 2u) << i;
    EXPECT_EQ(GCount(c[i], "old"), 9u) << i;
  }
  EXPECT_EQ(fresh.metrics().stale_catch_ups, 0u);
}

}  // namespace
}  // namespace convergent
