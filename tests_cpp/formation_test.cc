// Formation (pure logic): N of Majority/All while a cluster forms (unheard seeds count, once;
// the node's own URL does not; never below min_members), and readiness. Also Membership's record
// of the members met, which starts the first anti-entropy round with each.
#include "node/formation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace convergent::internal {
namespace {

constexpr TimeMicros kT0 = 100'000'000;

MemberRecord Member(NodeId id, uint64_t incarnation = 1, std::string role = "") {
  return MemberRecord{id,
                      "n" + std::to_string(id),
                      incarnation,
                      "inproc://bus-" + std::to_string(id),
                      "inproc://p2p-" + std::to_string(id),
                      std::move(role),
                      false,
                      id * 1000 + incarnation,
                      ""};
}

HeartbeatMsg From(const MemberRecord& sender, std::vector<MemberRecord> known = {}) {
  return HeartbeatMsg{sender, std::move(known), {}, {}, {}, {}};
}

TEST(FormationTest, UnheardSeedsCountOnceAndTheNodeItselfDoesNot) {
  Membership m(Member(1), 3'000'000);
  Formation f("inproc://bus-1", 1);
  f.SetSeeds({"inproc://bus-1", "inproc://bus-2", "inproc://bus-3", "inproc://bus-2"});
  f.Observe(m);
  EXPECT_EQ(f.UnheardSeeds(), 2u);
  EXPECT_EQ(f.ReplicaCount(m), 3u);
  EXPECT_FALSE(f.Ready(m));
  // Node 2 heard straight from: it counts as a member, not as a seed too.
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0, true);
  f.Observe(m);
  EXPECT_EQ(f.UnheardSeeds(), 1u);  // node 3 only heard of, not from
  EXPECT_EQ(f.ReplicaCount(m), 3u);
  EXPECT_FALSE(f.Ready(m));
  // A seed under another name is heard when a connection dialed to it answers.
  f.SetSeeds({"inproc://bus-2", "inproc://alias-of-3"});
  EXPECT_EQ(f.ReplicaCount(m), 4u);  // 2 and 3 as members, the alias not known yet
  f.Reached("inproc://alias-of-3", 3);
  f.Observe(m);
  EXPECT_EQ(f.ReplicaCount(m), 3u);
  EXPECT_TRUE(f.Ready(m));
}

TEST(FormationTest, ASeedHeardOnceDoesNotCountAgainWhenItIsDownedOrLeaves) {
  Membership m(Member(1), 3'000'000, 10'000'000);
  Formation f("inproc://bus-1", 1);
  f.SetSeeds({"inproc://bus-2"});
  m.OnHeartbeat(From(Member(2)), kT0, true);
  f.Observe(m);
  EXPECT_EQ(f.ReplicaCount(m), 2u);
  m.Check(kT0 + 20'000'000);  // silent past down_after: downed
  ASSERT_TRUE(m.members().empty());
  f.Observe(m);
  EXPECT_EQ(f.ReplicaCount(m), 1u);  // not counted again as an unheard seed
  EXPECT_TRUE(f.Ready(m));
}

TEST(FormationTest, MinMembersIsAFloorForNAndForReadiness) {
  Membership m(Member(1), 3'000'000);
  Formation f("inproc://bus-1", 3);
  EXPECT_EQ(f.ReplicaCount(m), 3u);
  EXPECT_FALSE(f.Ready(m));
  m.OnHeartbeat(From(Member(2)), kT0, true);
  EXPECT_FALSE(f.Ready(m));
  m.OnHeartbeat(From(Member(3, 1, "other-role")), kT0, true);  // another role does not count
  EXPECT_FALSE(f.Ready(m));
  m.OnHeartbeat(From(Member(4)), kT0, true);
  EXPECT_TRUE(f.Ready(m));
  EXPECT_EQ(f.ReplicaCount(m), 3u);
  m.OnHeartbeat(From(Member(5)), kT0, true);
  EXPECT_EQ(f.ReplicaCount(m), 4u);  // above the floor: the members
}

TEST(FormationTest, MembersAreMetAtFirstContactInANewIncarnationAndAfterBeingUnreachable) {
  Membership m(Member(1), 3'000'000);
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0, true);
  EXPECT_EQ(m.TakeMet(), std::vector<NodeId>{2});  // 3 only heard of
  m.OnHeartbeat(From(Member(2)), kT0 + 500'000, true);
  EXPECT_TRUE(m.TakeMet().empty());  // nothing new
  m.OnHeartbeat(From(Member(2, 2)), kT0 + 600'000, true);
  EXPECT_EQ(m.TakeMet(), std::vector<NodeId>{2});  // restarted
  m.OnHeartbeat(From(Member(2, 1)), kT0 + 700'000, true);
  EXPECT_TRUE(m.TakeMet().empty());  // a late frame of the old life changes nothing
  m.Check(kT0 + 5'000'000);
  EXPECT_FALSE(m.IsReachable(2));
  m.OnHeartbeat(From(Member(2, 2)), kT0 + 5'100'000, true);
  EXPECT_EQ(m.TakeMet(), std::vector<NodeId>{2});  // back after a partition
}

}  // namespace
}  // namespace convergent::internal

namespace convergent::internal {
namespace {

TEST(FormationTest, ALowerIncarnationStraightFromASilentMemberIsItsNewLife) {
  Membership m(Member(1), 3'000'000);
  m.OnHeartbeat(From(Member(2, 5)), kT0, true);
  m.TakeMet();
  m.OnHeartbeat(From(Member(2, 3)), kT0 + 100'000, true);  // a delayed frame of an older life
  EXPECT_EQ(m.members().at(2).info.incarnation, 5u);
  EXPECT_TRUE(m.TakeMet().empty());
  m.Check(kT0 + 5'000'000);  // the life numbered 5 is silent
  ASSERT_FALSE(m.IsReachable(2));
  m.OnHeartbeat(From(Member(2, 3)), kT0 + 5'100'000, true);  // restarted, clock stepped back
  EXPECT_EQ(m.members().at(2).info.incarnation, 3u);
  EXPECT_TRUE(m.IsReachable(2));
  EXPECT_EQ(m.TakeMet(), std::vector<NodeId>{2});
  m.OnHeartbeat(From(Member(4), {Member(2, 5)}), kT0 + 5'200'000, true);  // stale gossip
  EXPECT_EQ(m.members().at(2).info.incarnation, 3u);
}

}  // namespace
}  // namespace convergent::internal
