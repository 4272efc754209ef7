// Membership (pure logic): discovery by gossip, the failure detector, leaving, and downing of
// members silent for down_after. Heartbeats and time are given by the test.
#include "node/membership.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace convergent::internal {
namespace {

constexpr TimeMicros kSecond = 1'000'000;
constexpr TimeMicros kT0 = 100 * kSecond;  // the start of each test's clock (0 means never)

MemberRecord Member(NodeId id, uint64_t incarnation = 1) {
  return MemberRecord{id,
                      "n" + std::to_string(id),
                      incarnation,
                      "inproc://bus-" + std::to_string(id),
                      "inproc://p2p-" + std::to_string(id),
                      "",
                      false,
                      id * 1000 + incarnation,
                      ""};
}

HeartbeatMsg From(const MemberRecord& sender, std::vector<MemberRecord> known = {}) {
  return HeartbeatMsg{sender, std::move(known), {}, {}, {}, {}};
}

// A node (id 1) with failures after 3 s and downing after 10 s.
Membership Downing() { return Membership(Member(1), 3 * kSecond, 10 * kSecond); }

TEST(MembershipTest, GossipDiscoversAndHeartbeatsMakeReachable) {
  Membership m = Downing();
  EXPECT_TRUE(m.OnHeartbeat(From(Member(2), {Member(3), Member(1)}), kT0, true));
  EXPECT_TRUE(m.IsReachable(2));
  EXPECT_FALSE(m.IsReachable(3));  // only heard of
  EXPECT_EQ(m.Peers(), (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(m.Leader(), 1u);
  EXPECT_FALSE(m.Check(kT0 + 2 * kSecond));
  EXPECT_TRUE(m.Check(kT0 + 4 * kSecond));  // 2 is silent: unreachable, still a member
  EXPECT_FALSE(m.IsReachable(2));
  EXPECT_EQ(m.Peers(), (std::vector<NodeId>{2, 3}));
}

TEST(MembershipTest, AMemberSilentForDownAfterIsDownedAndStopsBeingAPeer) {
  Membership m = Downing();
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0, true);
  m.OnHeartbeat(From(Member(3)), kT0, true);
  for (TimeMicros t = kSecond; t <= 5 * kSecond; t += kSecond) {
    m.OnHeartbeat(From(Member(2), {Member(3)}), kT0 + t, true);  // 2 goes on; 3 died at 0
    m.Check(kT0 + t);
  }
  EXPECT_EQ(m.Peers(), (std::vector<NodeId>{2, 3}));
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0 + 10 * kSecond, true);
  EXPECT_FALSE(m.Check(kT0 + 10 * kSecond));  // silent for exactly down_after: not yet
  EXPECT_TRUE(m.Check(kT0 + 10 * kSecond + 1));
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
  EXPECT_EQ(m.downed_count(), 1u);
  EXPECT_EQ(m.members().count(3), 0u);
  // 2 has not downed 3 yet and still gossips it: that does not bring it back.
  EXPECT_FALSE(m.OnHeartbeat(From(Member(2), {Member(3)}), kT0 + 11 * kSecond, true));
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
  for (const MemberRecord& k : m.MakeHeartbeat().known) EXPECT_NE(k.id, 3u);
}

TEST(MembershipTest, ADownedMemberRejoinsWhenHeardAgainOrRestarted) {
  Membership m = Downing();
  m.OnHeartbeat(From(Member(2)), kT0, true);
  m.OnHeartbeat(From(Member(3)), kT0, true);
  ASSERT_TRUE(m.Check(kT0 + 11 * kSecond));
  ASSERT_TRUE(m.members().empty());
  // 2 was only cut off: its own heartbeat brings it back, reachable.
  EXPECT_TRUE(m.OnHeartbeat(From(Member(2)), kT0 + 12 * kSecond, true));
  EXPECT_TRUE(m.IsReachable(2));
  // 3 restarted (a new incarnation): gossip of the new life is news.
  EXPECT_TRUE(m.OnHeartbeat(From(Member(2), {Member(3, 2)}), kT0 + 13 * kSecond, true));
  EXPECT_EQ(m.Peers(), (std::vector<NodeId>{2, 3}));
  EXPECT_FALSE(m.IsReachable(3));
  EXPECT_EQ(m.downed_count(), 2u);
}

TEST(MembershipTest, AMemberOnlyHeardOfIsDownedAfterDownAfterToo) {
  Membership m = Downing();
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0, true);  // 3: gossip, never heard directly
  for (TimeMicros t = kSecond; t <= 11 * kSecond; t += kSecond) {
    m.OnHeartbeat(From(Member(2)), kT0 + t, true);
    m.Check(kT0 + t);
  }
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
}

TEST(MembershipTest, WithoutDownAfterSilentMembersStayForever) {
  Membership m(Member(1), 3 * kSecond, 0);
  m.OnHeartbeat(From(Member(2)), kT0, true);
  m.Check(kT0 + 1000 * kSecond);
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
  EXPECT_EQ(m.downed_count(), 0u);
}

TEST(MembershipTest, AGoodbyeRemovesAtOnceAndLaterGossipDoesNotBringItBack) {
  Membership m(Member(1), 3 * kSecond, 0);
  m.OnHeartbeat(From(Member(2), {Member(3)}), kT0, true);
  m.OnHeartbeat(From(Member(3)), kT0, true);
  MemberRecord bye = Member(3);
  bye.leaving = true;
  EXPECT_TRUE(m.OnHeartbeat(From(bye), kT0 + kSecond, true));
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
  // 2's heartbeat, sent before it saw the goodbye, still lists 3.
  EXPECT_FALSE(m.OnHeartbeat(From(Member(2), {Member(3)}), kT0 + kSecond, true));
  EXPECT_EQ(m.Peers(), std::vector<NodeId>{2});
  EXPECT_EQ(m.downed_count(), 0u);
}

// Removed replicas (for pruning): a newer life replaces a member's replica, a goodbye ends it, a
// downing does not (it may come back); heartbeats tell the others what their sender learned.
TEST(MembershipTest, ARestartOrAGoodbyeRemovesAReplicaAndHeartbeatsTellTheOthers) {
  Membership m = Downing();
  m.OnHeartbeat(From(Member(2, 1)), kT0, true);
  m.OnHeartbeat(From(Member(3, 1)), kT0, true);
  EXPECT_TRUE(m.TakeRemovedReplicas().empty());
  m.OnHeartbeat(From(Member(2, 2)), kT0 + kSecond, true);  // node 2 restarted
  EXPECT_EQ(m.TakeRemovedReplicas(), std::vector<uint64_t>{2001});
  MemberRecord leaving = Member(3, 1);
  leaving.leaving = true;
  m.OnHeartbeat(From(leaving), kT0 + kSecond, true);
  EXPECT_EQ(m.TakeRemovedReplicas(), std::vector<uint64_t>{3001});
  const HeartbeatMsg told = m.MakeHeartbeat();
  EXPECT_EQ(told.removed_replicas, (std::vector<uint64_t>{2001, 3001}));
  // Another node learns them from that heartbeat, once.
  Membership other(Member(4), 3 * kSecond, 10 * kSecond);
  HeartbeatMsg h = told;
  h.sender = Member(1);
  other.OnHeartbeat(h, kT0 + kSecond, true);
  EXPECT_EQ(other.TakeRemovedReplicas(), (std::vector<uint64_t>{2001, 3001}));
  other.OnHeartbeat(h, kT0 + 2 * kSecond, true);
  EXPECT_TRUE(other.TakeRemovedReplicas().empty());
  // Heartbeats stop telling after a while.
  m.Check(kT0 + kSecond + Membership::kRemovedGossip + 1);
  EXPECT_TRUE(m.MakeHeartbeat().removed_replicas.empty());
  // A lower incarnation heard straight from a silent member takes its place (a restart after the
  // wall clock stepped back, or a late heartbeat of the earlier life): not a removal.
  Membership back = Downing();
  back.OnHeartbeat(From(Member(6, 5)), kT0, true);
  back.Check(kT0 + 4 * kSecond);  // silent: unreachable
  back.OnHeartbeat(From(Member(6, 4)), kT0 + 4 * kSecond, true);
  EXPECT_EQ(back.members().at(6).info.incarnation, 4u);
  EXPECT_TRUE(back.TakeRemovedReplicas().empty());
  // A downed member's replica is not removed.
  Membership d = Downing();
  d.OnHeartbeat(From(Member(5, 1)), kT0, true);
  d.Check(kT0 + 11 * kSecond);
  EXPECT_EQ(d.downed_count(), 1u);
  EXPECT_TRUE(d.TakeRemovedReplicas().empty());
}

}  // namespace
}  // namespace convergent::internal
