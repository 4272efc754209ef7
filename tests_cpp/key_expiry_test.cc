// Key expiry (replica/key_expiry.h): a key not updated anywhere for expire_keys_after_inactivity
// leaves every replica at the same time, subscribers see kExpired, an update on any replica keeps
// it alive everywhere, a late state of an expired key does not bring it back, and a snapshot keeps
// the key's activity.
#include <gtest/gtest.h>

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
  o.expire_keys_after_inactivity = 10.0;
  return o;
}

TEST(KeyExpiryTest, AKeyNotUpdatedAnywhereExpiresOnEveryReplicaAndMayBeWrittenAgain) {
  Cluster c(3, Options());
  for (NodeId i = 0; i < 3; ++i) c[i].Subscribe("k");
  ASSERT_TRUE(GAdd(c[0], "k", 2, 0));
  ASSERT_TRUE(GAdd(c[0], "other", 1, 0));
  TimeMicros t = c.Run(kSecond, 5 * kSecond, kSecond / 2);
  // An update on node 2 at 6 s keeps "k" alive everywhere until 16 s; "other" goes at 10 s.
  ASSERT_TRUE(GAdd(c[2], "k", 1, 6 * kSecond));
  t = c.Run(6 * kSecond, 12 * kSecond, kSecond / 2);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_TRUE(GLive(c[i], "k")) << i;
    EXPECT_EQ(GCount(c[i], "k"), 3u) << i;
    EXPECT_FALSE(GLive(c[i], "other")) << i;
  }
  t = c.Run(t + kSecond / 2, 18 * kSecond, kSecond / 2);
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_FALSE(GLive(c[i], "k")) << i;
    EXPECT_FALSE(c[i].IsDeleted("k")) << i;  // no tombstone
    EXPECT_EQ(c[i].tombstone_count(), 0u);
    EXPECT_EQ(c[i].metrics().keys_expired, 2u) << i;
    std::vector<ReplicaEvent::Kind> kinds;
    for (const ReplicaEvent& e : c[i].TakeEvents()) kinds.push_back(e.kind);
    ASSERT_FALSE(kinds.empty());
    EXPECT_EQ(kinds.back(), ReplicaEvent::Kind::kExpired) << i;
  }
  EXPECT_EQ(c[0].StoreDigest(), c[1].StoreDigest());

  ASSERT_TRUE(GAdd(c[1], "k", 5, t));  // a new key, empty before the update
  c.Run(t + kSecond / 2, t + 2 * kSecond, kSecond / 2);
  for (NodeId i = 0; i < 3; ++i) EXPECT_EQ(GCount(c[i], "k"), 5u) << i;
}

TEST(KeyExpiryTest, ALateStateOfAnExpiredKeyDoesNotBringItBack) {
  Cluster c(2, Options());
  ASSERT_TRUE(GAdd(c[0], "k", 1, 0));
  c[0].Tick(kSecond);
  std::vector<test::Sent> late = c.Take();  // the delta, held back
  ASSERT_FALSE(late.empty());
  const TimeMicros t = c.Run(2 * kSecond, 15 * kSecond, kSecond / 2);
  ASSERT_FALSE(GLive(c[0], "k"));
  ASSERT_FALSE(GLive(c[1], "k"));
  for (const test::Sent& s : late) c.Deliver(s, t);
  EXPECT_FALSE(GLive(c[1], "k"));
  EXPECT_EQ(c[1].metrics().entries_expired, 1u);
}

TEST(KeyExpiryTest, ASnapshotKeepsTheKeysActivity) {
  ReplicatorOptions o = Options();
  Replicator a(0, ReplicaId{1}, o, 1);
  a.TrackChanges();
  ASSERT_TRUE(GAdd(a, "k", 1, 3 * kSecond));
  const std::vector<Replicator::SnapshotChange> snapshot = a.TakeChanges();

  Replicator b(0, ReplicaId{2}, o, 2);
  ASSERT_TRUE(b.Restore(snapshot).ok());
  b.Tick(12 * kSecond);
  EXPECT_TRUE(GLive(b, "k"));  // active at 3 s: until 13 s, not from the restore at 12 s
  b.Tick(14 * kSecond);
  EXPECT_FALSE(GLive(b, "k"));
}

TEST(KeyExpiryTest, OffByDefault) {
  Cluster c(2);
  ASSERT_TRUE(GAdd(c[0], "k", 1, 0));
  c.Run(kSecond, 1000 * kSecond, 10 * kSecond);
  EXPECT_TRUE(GLive(c[1], "k"));
  ReplicatorOptions bad = Options();
  bad.expire_keys_after_inactivity = -1;
  EXPECT_FALSE(bad.Validate().ok());
}

}  // namespace
}  // namespace convergent
