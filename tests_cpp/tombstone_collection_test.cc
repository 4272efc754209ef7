// Safe tombstone collection (replica/tombstone_collector.h): a tombstone goes only once every
// member has it, a member cut off blocks it, nothing collected comes back through a late copy or
// a replica restored from before, and a new node's own writes survive its first contact.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "convergent/crdt/gcounter.h"
#include "convergent/replicator.h"
#include "replica/frame_codec.h"
#include "replica/retired_deletes.h"
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

// What a node's snapshot holds at `t` (the frames it would send then are lost).
std::vector<Replicator::SnapshotChange> SnapshotOf(Replicator& node, TimeMicros t) {
  node.Tick(t);
  node.TakeOutgoing();
  return node.TakeChanges();
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
  const std::vector<Replicator::SnapshotChange> snapshot = SnapshotOf(c[2], t);

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

// Node 2 keeps a snapshot while it holds "gone", then leaves; nodes 0 and 1 delete "gone" and
// collect it. Returns node 2's snapshot; `t` is the time after the collection.
std::vector<Replicator::SnapshotChange> NodeTwoMissesACollection(Cluster& c, TimeMicros& t) {
  c.SetMembers();
  c[2].TrackChanges();
  EXPECT_TRUE(GAdd(c[0], "gone", 3, 0));
  t = c.Run(kSecond, 3 * kSecond, kSecond);
  std::vector<Replicator::SnapshotChange> snapshot = SnapshotOf(c[2], t);
  OnlyTwoMembers(c);
  EXPECT_TRUE(c[0].Delete("gone", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  t = c.Run(t + kSecond, t + 500 * kSecond, 5 * kSecond, Without(2));
  EXPECT_EQ(c[0].tombstone_count() + c[1].tombstone_count(), 0u);
  return snapshot;
}

// Node 2 keeps a snapshot while it holds "k" (1), then restarts from it as replica 2002, a
// member again. Returns the restored replicator; `t` is the time of the snapshot.
Replicator& NodeTwoRestartsFromItsSnapshot(Cluster& c, TimeMicros& t) {
  c.SetMembers();
  c[2].TrackChanges();
  EXPECT_TRUE(GAdd(c[0], "k", 1, 0));
  t = c.Run(kSecond, 3 * kSecond, kSecond);
  const std::vector<Replicator::SnapshotChange> snapshot = SnapshotOf(c[2], t);
  Replicator& back = c.Replace(2, ReplicaId{2002}, Options());
  EXPECT_TRUE(back.Restore(snapshot).ok());
  c.SetMembers();
  return back;
}

// The outcomes of node `n`'s requests completed so far (nullopt: not completed).
class Outcomes {
 public:
  explicit Outcomes(Replicator& n) {
    for (const Completion& c : n.TakeCompletions()) done_[c.id] = c.status.code();
  }
  std::optional<StatusCode> operator[](RequestId id) const {
    auto it = done_.find(id);
    return it == done_.end() ? std::nullopt : std::optional<StatusCode>(it->second);
  }

 private:
  std::map<RequestId, StatusCode> done_;
};

// A node restored from a snapshot older than a collection it missed learns that it is stale
// from the first member with the floor it hears, and then sets aside the keys it did not write.
// Had it answered coordinated requests before: a Majority write it acknowledged goes into the
// quarantine (here the writer then dies and the one other member never held the key: gone after
// one crash, N = 3), and a Majority read it answered brings the collected key back to the
// reader. It answers none until it has heard every member, and then does.
TEST(TombstoneCollectionTest, ARestoredReplicaAnswersNoCoordinatedRequestUntilItHeardEveryMember) {
  Cluster c(3, Options());
  TimeMicros t = 0;
  const std::vector<Replicator::SnapshotChange> snapshot = NodeTwoMissesACollection(c, t);

  Replicator& back = c.Replace(2, ReplicaId{2002}, Options());
  ASSERT_TRUE(back.Restore(snapshot).ok());
  c.SetMembers();
  back.Tick(t);
  // Node 1 is cut off: only node 2 can make node 0's Majority write and read.
  auto write = c[0].Update("new", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 5),
                           Consistency::kMajority, t);
  ASSERT_TRUE(write.ok() && *write != 0);
  auto read = c[0].Read("gone", CrdtType::kGCounter, Consistency::kMajority, t);
  ASSERT_TRUE(read.ok() && *read != 0);
  c.Pump(t, Without(1));
  // Node 0 dies; node 2 hears node 1 and learns that it missed the collection.
  t = c.Run(t + kSecond / 10, t + 60 * kSecond, kSecond, Without(0));
  Outcomes outcomes(c[0]);
  EXPECT_EQ(outcomes[*write], StatusCode::kTimeout);
  EXPECT_EQ(outcomes[*read], StatusCode::kTimeout);
  EXPECT_FALSE(GLive(c[0], "gone"));
  EXPECT_GE(back.metrics().coordinated_deferred, 2u);
  EXPECT_EQ(back.metrics().stale_catch_ups, 1u);
  EXPECT_FALSE(GLive(back, "gone"));

  // Once it has heard every member, it answers: node 1 cut off again, node 2 makes the Majority.
  t = c.Run(t + kSecond, t + 60 * kSecond, kSecond);
  const uint64_t deferred = back.metrics().coordinated_deferred;
  write = c[0].Update("again", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 2),
                      Consistency::kMajority, t);
  ASSERT_TRUE(write.ok() && *write != 0);
  c.Pump(t, Without(1));
  outcomes = Outcomes(c[0]);
  EXPECT_EQ(outcomes[*write], StatusCode::kOk);
  EXPECT_EQ(GCount(back, "again"), 2u);
  EXPECT_EQ(back.metrics().coordinated_deferred, deferred);
  for (NodeId i = 0; i < 3; ++i) EXPECT_FALSE(GLive(c[i], "gone")) << i;
}

// A member that is down cannot tell a restored node whether it missed a collection, and must not
// keep it out of every coordinated request for as long as it is down: two anti-entropy intervals
// after it first hears a member, a restored node answers again.
TEST(TombstoneCollectionTest, AMemberThatIsDownKeepsARestoredReplicaUnsureForALimitedTime) {
  Cluster c(3, Options());
  TimeMicros t = 0;
  Replicator& back = NodeTwoRestartsFromItsSnapshot(c, t);
  back.Tick(t);
  // Node 1 is down from now on; node 0 writes at Majority, which only node 2 can make.
  auto majority_write = [&](uint64_t n) {
    auto id = c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), n),
                          Consistency::kMajority, t);
    EXPECT_TRUE(id.ok() && *id != 0);
    c.Pump(t, Without(1));
    return Outcomes(c[0])[*id];
  };
  EXPECT_EQ(majority_write(1), std::nullopt);  // unsure: not answered
  EXPECT_EQ(back.metrics().coordinated_deferred, 1u);
  t = c.Run(t + kSecond, t + 15 * kSecond, kSecond, Without(1));  // hears node 0, not node 1
  EXPECT_EQ(majority_write(2), std::nullopt);
  t = c.Run(t + kSecond, t + 30 * kSecond, kSecond, Without(1));  // two intervals (20 s) later
  EXPECT_EQ(majority_write(4), StatusCode::kOk);
  EXPECT_EQ(GCount(back, "k"), 8u);
}

// A restored node starts a round with each member it meets (as a node does). A member hearing
// its advert say it is unsure answers with a round of its own at once, so the restored node has
// heard every member a round trip later, not when each member's own next round picks it.
TEST(TombstoneCollectionTest, MembersAnswerAnUnsureAdvertAtOnce) {
  Cluster c(3, Options());
  TimeMicros t = 0;
  Replicator& back = NodeTwoRestartsFromItsSnapshot(c, t);
  back.SyncWith(0);
  back.SyncWith(1);
  for (int i = 0; i < 2; ++i) {  // its rounds, then theirs (started at their next tick)
    c.TickAll(t);
    c.Pump(t);
  }
  auto write =
      c[0].Update("k", CrdtType::kGCounter, GIncrement(c[0].replica_id(), 2), Consistency::kAll, t);
  ASSERT_TRUE(write.ok() && *write != 0);
  c.Pump(t);
  EXPECT_EQ(Outcomes(c[0])[*write], StatusCode::kOk);
  EXPECT_EQ(back.metrics().coordinated_deferred, 0u);
  EXPECT_EQ(GCount(back, "k"), 3u);
}

// A replica deletes "a" and then "b"; the tombstone of "a" never leaves it (its frames are lost,
// then it crashes). No member will see its first delete, and without more every later delete of
// that replica would stay above the floor for good: "b"'s tombstone would never go. Once every
// member has been past nothing but the gap for tombstone_ttl, each marks the lost delete seen:
// "b"'s tombstone is collected, "a" stays (its delete is lost), and the lost tombstone, should it
// still arrive, is ignored.
TEST(TombstoneCollectionTest, ADeleteLostWithItsReplicaDoesNotHoldBackTheLaterOnes) {
  Cluster c(3, Options());
  c.SetMembers();
  ASSERT_TRUE(GAdd(c[0], "a", 1, 0));
  ASSERT_TRUE(GAdd(c[0], "b", 2, 0));
  TimeMicros t = c.Run(kSecond, 3 * kSecond, kSecond);
  ASSERT_EQ(GCount(c[2], "a"), 1u);
  ASSERT_TRUE(c[2].Delete("a", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  c[2].Tick(t + kSecond);
  const std::vector<test::Sent> lost = c.Take();
  ASSERT_FALSE(lost.empty());
  ASSERT_TRUE(c[2].Delete("b", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  c[2].Tick(t + 2 * kSecond);
  for (const test::Sent& s : c.Take()) c.Deliver(s, t + 2 * kSecond);  // the tombstone of "b"
  ASSERT_TRUE(c[0].IsDeleted("b"));
  ASSERT_FALSE(c[0].IsDeleted("a"));

  c.Replace(2, ReplicaId{2002}, Options());  // it crashes and comes back empty
  c.SetMembers();
  t = c.Run(t + kSecond, t + 400 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].tombstone_count(), 0u) << i;
    EXPECT_EQ(c[i].metrics().deletes_lost, 1u) << i;
    EXPECT_EQ(GCount(c[i], "a"), 1u) << i;
    EXPECT_FALSE(GLive(c[i], "b")) << i;
  }

  for (const test::Sent& s : lost) c.Deliver(s, t);
  t = c.Run(t + kSecond, t + 100 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) EXPECT_EQ(GCount(c[i], "a"), 1u) << i;
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(c[0].StoreDigest(), c[2].StoreDigest());
}

// Node 0 takes a floor from node 2 that covers a delete of node 1 while its last advert from
// node 1 is older than that delete: until node 1 advertises again, node 0 judges it stale and
// refuses its states. A read reply so refused is no answer: counted as one (holding nothing), it
// would complete a Majority read without node 1's acknowledged write.
TEST(TombstoneCollectionTest, AReadReplyRefusedFromAStalePeerIsNoAnswer) {
  Cluster c(3, Options());
  c.SetMembers();
  TimeMicros t = c.Run(kSecond, 60 * kSecond, 5 * kSecond);  // every advert heard, all empty
  // From now on node 0 hears no advert of node 1, and no state but the delete.
  const Cluster::Filter no_advert_1_to_0 = [](NodeId from, NodeId to, FrameKind kind) {
    return from != 1 || to != 0 || kind != FrameKind::kDigestStep;
  };
  const Cluster::Filter quiet_1_to_0 = [&](NodeId from, NodeId to, FrameKind kind) {
    if (to == 0 && (kind == FrameKind::kRepair || kind == FrameKind::kDeltaBatch)) return false;
    return no_advert_1_to_0(from, to, kind);
  };
  ASSERT_TRUE(c[1].Delete("x", CrdtType::kGCounter, Consistency::kLocal, t).ok());
  c[1].Tick(t += kSecond);
  c.Pump(t, no_advert_1_to_0);  // every node has the delete
  auto write = c[1].Update("k", CrdtType::kGCounter, GIncrement(c[1].replica_id(), 2),
                           Consistency::kMajority, t);
  ASSERT_TRUE(write.ok() && *write != 0);
  c.Pump(t, Without(0));
  ASSERT_EQ(Outcomes(c[1])[*write], StatusCode::kOk);  // node 2 has it
  // Node 2 hears nodes 0 and 1 advertise the delete, raises its floor, and node 0 takes it.
  c[0].SyncWith(2);
  c[1].SyncWith(2);
  t = c.Run(t + kSecond, t + 45 * kSecond, kSecond, quiet_1_to_0);
  c[2].SyncWith(0);
  t = c.Run(t + kSecond, t + 2 * kSecond, kSecond, quiet_1_to_0);
  ASSERT_FALSE(GLive(c[0], "k"));

  // Node 0 reads "k" at Majority; node 2 is cut off, node 1 answers.
  auto read = c[0].Read("k", CrdtType::kGCounter, Consistency::kMajority, t);
  ASSERT_TRUE(read.ok() && *read != 0);
  const Cluster::Filter no_2 = [&](NodeId from, NodeId to, FrameKind kind) {
    return from != 2 && to != 2 && quiet_1_to_0(from, to, kind);
  };
  c.Pump(t, no_2);
  EXPECT_GE(c[0].metrics().entries_from_stale, 1u);
  t = c.Run(t + kSecond / 10, t + 2 * kSecond, kSecond / 10, no_2);
  EXPECT_EQ(Outcomes(c[0])[*read], StatusCode::kTimeout);
}

// A node restored from before a collection and a brand-new node meet before either has heard a
// member with the floor. The new node takes any floor as it is (nothing it holds is from
// before), so had it taken the restored node's copy of the collected key, the key would come
// back for good. Neither sends it: the new node refuses the states of a node whose advert says it
// is unsure, and the unsure node keeps its states from a node whose advert says it is fresh.
TEST(TombstoneCollectionTest, AnUnsureReplicaAndAFreshOneShareNoKeyStates) {
  Cluster c(3, Options());
  TimeMicros t = 0;
  const std::vector<Replicator::SnapshotChange> snapshot = NodeTwoMissesACollection(c, t);

  Replicator& fresh = c.Replace(1, ReplicaId{3003}, Options());  // node 1 comes back empty
  Replicator& back = c.Replace(2, ReplicaId{2002}, Options());   // node 2 from its snapshot
  ASSERT_TRUE(back.Restore(snapshot).ok());
  c.SetMembers();
  t = c.Run(t + kSecond, t + 60 * kSecond, kSecond, Without(0));  // they meet, node 0 cut off
  EXPECT_FALSE(GLive(fresh, "gone"));
  EXPECT_GE(fresh.metrics().entries_from_stale + back.metrics().entries_withheld, 1u);

  t = c.Run(t + kSecond, t + 100 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) EXPECT_FALSE(GLive(c[i], "gone")) << i;
  EXPECT_EQ(back.metrics().stale_catch_ups, 1u);
  EXPECT_EQ(c[0].StoreDigest(), fresh.StoreDigest());
  EXPECT_EQ(c[0].StoreDigest(), back.StoreDigest());
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

// ---- retired deletes (replica/retired_deletes.h) ----

// Node 0 writes keys "k0".."k{lives-1}"; node 1 then restarts `lives` times, and each life
// deletes one of them once it holds them. `away` (if any) is not a member meanwhile; `between`
// (if any) runs after every stretch of time (to write a snapshot).
TimeMicros DeletingLives(Cluster& c, int lives, TimeMicros t, std::optional<NodeId> away = {},
                         const std::function<void()>& between = {}) {
  auto members = [&] {
    if (!away) return c.SetMembers();
    std::vector<ReplicaId> replicas;
    for (NodeId i = 0; i < c.size(); ++i) {
      if (i != *away) replicas.push_back(c[i].replica_id());
    }
    std::sort(replicas.begin(), replicas.end());
    for (NodeId i = 0; i < c.size(); ++i) {
      if (i != *away) c[i].SetMemberReplicas(replicas);
    }
  };
  const Cluster::Filter keep = away ? Without(*away) : Cluster::Filter();
  auto run = [&](TimeMicros seconds, TimeMicros step) {
    for (TimeMicros end = t + seconds * kSecond; t < end;) {
      t = c.Run(t + step, std::min(end, t + 30 * kSecond), step, keep);
      if (between) between();
    }
  };
  for (int k = 0; k < lives; ++k) EXPECT_TRUE(GAdd(c[0], "k" + std::to_string(k), 1, t));
  run(30, 5 * kSecond);
  for (int life = 0; life < lives; ++life) {
    Replicator& r = c.Replace(1, ReplicaId{5000u + static_cast<uint32_t>(life)}, Options());
    members();
    run(30, 5 * kSecond);  // it catches up
    const std::string key = "k" + std::to_string(life);
    EXPECT_TRUE(GLive(r, key)) << life;
    EXPECT_TRUE(r.Delete(key, CrdtType::kGCounter, Consistency::kLocal, t).ok()) << life;
    run(5, kSecond);  // it spreads before the life ends
  }
  // The deletes reach everyone and are collected; the lives that are gone retire.
  run(400, 5 * kSecond);
  return t;
}

// The digest-step bytes per round that `n` starts, over `seconds` of quiet.
double DigestBytesPerRound(Cluster& c, NodeId n, TimeMicros& t, int seconds) {
  const int k = static_cast<int>(FrameKind::kDigestStep);
  const uint64_t bytes = c[n].metrics().bytes_sent[k];
  const uint64_t rounds = c[n].metrics().antientropy_count;
  t = c.Run(t + kSecond, t + seconds * kSecond, 5 * kSecond);
  const uint64_t more = c[n].metrics().antientropy_count - rounds;
  return more == 0 ? 0
                   : static_cast<double>(c[n].metrics().bytes_sent[k] - bytes) /
                         static_cast<double>(more);
}

// What a round costs a cluster of 3 that never deleted: the level-1 digests and empty adverts.
double QuietBytesPerRound() {
  Cluster c(3, Options());
  c.SetMembers();
  TimeMicros t = c.Run(kSecond, 30 * kSecond, 5 * kSecond);
  return DigestBytesPerRound(c, 0, t, 200);
}

// At most the adverts of a few live replicas (about 10 bytes per entry) and the retired digest
// more than a cluster that never deleted; every life gone would add about 18 bytes.
constexpr double kLiveAdvertBytes = 64;

double Retired(Replicator& r) {
  return r.NamedMetrics().at("crdt.replicator.deletes.retired.replicas");
}

TEST(RetiredDeletesTest, AnAdvertLeavesOutWhatTheSetCoversAndTheSetPutsItBack) {
  using internal::RetiredDeletes;
  RetiredDeletes retired;
  EXPECT_EQ(retired.digest(), 0u);
  EXPECT_FALSE(retired.Join({}));
  ASSERT_TRUE(retired.Join({{ReplicaId{3}, 5}, {ReplicaId{9}, 2}}));
  EXPECT_FALSE(retired.Join({{ReplicaId{3}, 4}}));  // covered already
  const uint64_t digest = retired.digest();
  EXPECT_NE(digest, 0u);
  const RetiredDeletes::Vector vv = {
      {ReplicaId{1}, 7}, {ReplicaId{3}, 5}, {ReplicaId{9}, 3}, {ReplicaId{12}, 1}};
  const RetiredDeletes::Vector sent = retired.Without(vv);
  // (3, 5) is covered; (9, 3) is beyond the retired (9, 2): it stays.
  EXPECT_EQ(sent,
            (RetiredDeletes::Vector{{ReplicaId{1}, 7}, {ReplicaId{9}, 3}, {ReplicaId{12}, 1}}));
  EXPECT_EQ(RetiredDeletes::With(sent, retired.entries()), vv);
  ASSERT_TRUE(retired.Join({{ReplicaId{9}, 3}}));
  EXPECT_NE(retired.digest(), digest);
  EXPECT_EQ(RetiredDeletes::DigestOf(retired.entries()), retired.digest());
  RetiredDeletes other;  // the same entries joined in another order name the same set
  ASSERT_TRUE(other.Join({{ReplicaId{9}, 3}}));
  ASSERT_TRUE(other.Join({{ReplicaId{3}, 5}}));
  EXPECT_EQ(other.digest(), retired.digest());
}

TEST(TombstoneCollectionTest, AnAdvertDoesNotGrowWithTheReplicasThatDeletedAndAreGone) {
  constexpr int kLives = 40;
  Cluster c(3, Options());
  c.SetMembers();
  TimeMicros t = DeletingLives(c, kLives, 0);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].tombstone_count(), 0u) << i;
    EXPECT_TRUE(c[i].Keys().empty()) << i;
    EXPECT_EQ(Retired(c[i]), kLives - 1) << i;  // every life but the last one
  }
  // One level-1 digest step per round: the tree's digests and the adverts of the live replicas
  // (the 39 lives' entries would add about 700 bytes).
  const double quiet = QuietBytesPerRound();
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_LT(DigestBytesPerRound(c, i, t, 200), quiet + kLiveAdvertBytes) << i;
  }
  EXPECT_EQ(c[0].StoreDigest(), c[2].StoreDigest());
}

TEST(TombstoneCollectionTest, AReplicaRestoredFromBeforeTheRetirementsStillLearnsWhatItMissed) {
  constexpr int kLives = 12;
  Cluster c(3, Options());
  c.SetMembers();
  c[2].TrackChanges();
  ASSERT_TRUE(GAdd(c[0], "kept", 4, 0));
  TimeMicros t = c.Run(kSecond, 30 * kSecond, 5 * kSecond);
  // Node 2 holds every key the lives will delete when it stops.
  for (int k = 0; k < kLives; ++k) ASSERT_TRUE(GAdd(c[0], "k" + std::to_string(k), 1, t));
  t = c.Run(t + kSecond, t + 30 * kSecond, 5 * kSecond);
  ASSERT_TRUE(GLive(c[2], "k0"));
  const std::vector<Replicator::SnapshotChange> snapshot = SnapshotOf(c[2], t);

  // Node 2 is away while node 1's lives delete them, and those lives retire.
  t = c.Run(t + kSecond, t + 30 * kSecond, 5 * kSecond, Without(2));  // (keys written again)
  t = DeletingLives(c, kLives, t, NodeId{2});
  ASSERT_EQ(c[0].tombstone_count(), 0u);
  ASSERT_EQ(Retired(c[0]), kLives - 1);

  // It comes back from its old snapshot: it missed collected deletes, all of retired replicas.
  Replicator& back = c.Replace(2, ReplicaId{2002}, Options());
  ASSERT_TRUE(back.Restore(snapshot).ok());
  ASSERT_TRUE(GLive(back, "k0"));
  c.SetMembers();
  // For a while it hears nothing: its rounds tell the others its deletes, which lack the
  // retired ones, and they must find it stale and refuse its states (a write here).
  const Cluster::Filter deaf = [](NodeId, NodeId to, FrameKind) { return to != 2; };
  t = c.Run(t + kSecond, t + 30 * kSecond, 5 * kSecond, deaf);
  ASSERT_GE(back.metrics().antientropy_count, 1u);
  ASSERT_TRUE(GAdd(back, "kept", 1, t));
  t = c.Run(t + kSecond, t + 10 * kSecond, 5 * kSecond, deaf);
  EXPECT_EQ(GCount(c[0], "kept"), 4u);
  EXPECT_EQ(GCount(c[1], "kept"), 4u);
  EXPECT_GE(c[0].metrics().entries_from_stale, 1u);
  EXPECT_GE(c[1].metrics().entries_from_stale, 1u);

  t = c.Run(t + kSecond, t + 200 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    for (int k = 0; k < kLives; ++k) EXPECT_FALSE(GLive(c[i], "k" + std::to_string(k))) << i;
    EXPECT_EQ(GCount(c[i], "kept"), 5u) << i;  // written since: kept (docs/concepts.md)
    EXPECT_EQ(Retired(c[i]), kLives - 1) << i;
  }
  EXPECT_EQ(back.metrics().stale_catch_ups, 1u);
  EXPECT_EQ(c[0].StoreDigest(), back.StoreDigest());
  EXPECT_LT(DigestBytesPerRound(c, 2, t, 200), QuietBytesPerRound() + kLiveAdvertBytes);
}

// An advert that left out the entries of a retired set this replica does not have cannot be
// read: it is ignored (counted), and this replica answers with a round whose advert carries
// its whole vectors and its set.
TEST(TombstoneCollectionTest, AnAdvertOfAnotherRetiredSetIsIgnoredCountedAndAnswered) {
  Cluster c(3, Options());
  c.SetMembers();
  TimeMicros t = DeletingLives(c, 3, 0);
  ASSERT_EQ(Retired(c[0]), 2);
  const uint64_t digest_before = c[0].StoreDigest();
  const uint64_t unreadable = c[0].metrics().delete_adverts_unreadable;  // (sets that grew)
  internal::DigestStepMsg step{
      99, 1, {}, {}, internal::DeleteAdvert{{}, {}, 0, 0x1234, std::nullopt}};
  c[0].Receive(internal::EncodeFrame(internal::FrameMsg{1, step, c[1].replica_id()}), t);
  EXPECT_EQ(c[0].metrics().delete_adverts_unreadable, unreadable + 1);
  c[0].Tick(t + 1);
  bool answered = false;
  for (const OutgoingFrame& f : c[0].TakeOutgoing()) {
    if (f.kind != FrameKind::kDigestStep || f.to != NodeId{1}) continue;
    auto frame = internal::DecodeFrame(f.bytes);
    ASSERT_TRUE(frame.ok());
    const auto& answer = std::get<internal::DigestStepMsg>(frame->body);
    if (!answer.deletes) continue;
    answered = true;
    ASSERT_TRUE(answer.deletes->retired.has_value());
    EXPECT_EQ(answer.deletes->retired->size(), 2u);
    EXPECT_GE(answer.deletes->collected.size(), 2u);  // whole: the retired entries too
  }
  EXPECT_TRUE(answered);
  // Nothing was lost: the rounds go on, and collection with them.
  t = c.Run(t + kSecond, t + 100 * kSecond, 5 * kSecond);
  EXPECT_EQ(c[0].StoreDigest(), digest_before);
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());
  EXPECT_EQ(Retired(c[1]), 2);
}

// The next advert node `from` sends `to` (its other frames are not delivered).
internal::DeleteAdvert NextAdvert(Cluster& c, NodeId from, NodeId to, TimeMicros& t) {
  for (int i = 0; i < 1000; ++i) {
    t += kSecond;
    c[from].Tick(t);
    for (const OutgoingFrame& f : c[from].TakeOutgoing()) {
      if (f.kind != FrameKind::kDigestStep || f.to != to) continue;
      auto frame = internal::DecodeFrame(f.bytes);
      const auto* step = frame.ok() ? std::get_if<internal::DigestStepMsg>(&frame->body) : nullptr;
      if (step != nullptr && step->deletes) return *step->deletes;
    }
  }
  ADD_FAILURE() << "no advert from " << from << " to " << to;
  return {};
}

// Once the sets agree, adverts leave the retired entries out; a node that stops being a peer is
// forgotten, and when it is one again (a new incarnation, perhaps without the set) it first
// gets the whole vectors and the set.
TEST(TombstoneCollectionTest, APeerThatLeftAndCameBackGetsTheWholeSetFirst) {
  Cluster c(3, Options());
  c.SetMembers();
  TimeMicros t = DeletingLives(c, 3, 0);
  ASSERT_EQ(Retired(c[0]), 2);
  internal::DeleteAdvert compact = NextAdvert(c, 0, 1, t);
  EXPECT_FALSE(compact.retired.has_value());
  EXPECT_NE(compact.retired_digest, 0u);
  c[0].SetPeers({0, 2});
  c[0].SetPeers({0, 1, 2});
  internal::DeleteAdvert whole = NextAdvert(c, 0, 1, t);
  ASSERT_TRUE(whole.retired.has_value());
  EXPECT_EQ(whole.retired->size(), 2u);
  EXPECT_EQ(whole.collected.size(), compact.collected.size() + 2);
}

TEST(TombstoneCollectionTest, RetiredDeletesSurviveARestartAndANewNodeLearnsThem) {
  constexpr int kLives = 10;
  Cluster c(3, Options());
  c.SetMembers();
  c[0].TrackChanges();
  std::map<std::string, std::string> disk;  // node 0's snapshot
  auto write = [&] {
    for (auto& [key, bytes] : c[0].TakeChanges()) {
      if (bytes.empty()) {
        disk.erase(key);
      } else {
        disk[key] = bytes;
      }
    }
  };
  TimeMicros t = DeletingLives(c, kLives, 0, std::nullopt, write);
  ASSERT_EQ(Retired(c[0]), kLives - 1);
  write();
  const std::vector<Replicator::SnapshotChange> snapshot(disk.begin(), disk.end());

  // Node 0 restarts from its snapshot with its retired set; node 2 is replaced by an empty one,
  // which writes before it meets anyone.
  Replicator& restarted = c.Replace(0, ReplicaId{7000}, Options());
  ASSERT_TRUE(restarted.Restore(snapshot).ok());
  EXPECT_EQ(Retired(restarted), kLives - 1);
  Replicator& fresh = c.Replace(2, ReplicaId{7002}, Options());
  fresh.Tick(t);
  ASSERT_TRUE(GAdd(fresh, "new", 2, t));
  c.SetMembers();
  t = c.Run(t + kSecond, t + 200 * kSecond, 5 * kSecond);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_EQ(GCount(c[i], "new"), 2u) << i;
    EXPECT_EQ(Retired(c[i]), kLives - 1) << i;  // node 1's last life is still a member
  }
  EXPECT_EQ(fresh.metrics().stale_catch_ups, 0u);
  const double quiet = QuietBytesPerRound();
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_LT(DigestBytesPerRound(c, i, t, 200), quiet + kLiveAdvertBytes) << i;
  }
}

}  // namespace
}  // namespace convergent
