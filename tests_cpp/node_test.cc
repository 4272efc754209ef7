// Node: real NNG clusters inside one test process, on inproc://, ipc:// and tcp:// loopback.
// Waits are bounded polls (never sleeps standing in for a result).
#include "convergent/node.h"

#include <gtest/gtest.h>
#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pipeline0/push.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/nng_close.h"
#include "node/node_codec.h"
#include "node/seed_resolver.h"
#include "node_test_support.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using test::FastOptions;
using test::GIncrement;
using test::GValue;
using test::Increment;
using test::Reachable;
using test::SetAdd;
using test::WaitFor;

using Clock = std::chrono::steady_clock;

std::string Url(const std::string& scheme, int i) {
  static const std::string tag = std::to_string(getpid()) + "-" +
                                 std::to_string(Clock::now().time_since_epoch().count() % 100000);
  if (scheme == "inproc") return "inproc://node-test-" + tag + "-" + std::to_string(i);
  if (scheme == "ipc") return "ipc:///tmp/convergent-node-test-" + tag + "-" + std::to_string(i);
  return "tcp://127.0.0.1:0";  // the system picks a free port; Cluster keeps the bound URL
}

class Cluster {
 public:
  Cluster(const std::string& scheme, int n) {
    for (int i = 0; i < n; ++i) urls_.push_back(Url(scheme, i));
    for (int i = 0; i < n; ++i) Start(i);
  }
  void Start(int i) {
    if (nodes_.size() <= static_cast<size_t>(i)) nodes_.resize(i + 1);
    std::vector<std::string> seeds;
    for (const std::string& u : urls_) {
      if (u.size() < 2 || u.compare(u.size() - 2, 2, ":0") != 0) seeds.push_back(u);
    }
    auto node = Node::Start(FastOptions(urls_[i], seeds));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    nodes_[i] = std::move(node).value();
    urls_[i] = nodes_[i]->bus_url();  // a restart listens on the same URL
  }
  Node& operator[](int i) { return *nodes_[i]; }
  void Kill(int i) { nodes_[i]->Stop(/*graceful=*/false); }
  bool AllSee(size_t reachable) {
    for (auto& n : nodes_) {
      if (n->running() && Reachable(*n) != reachable) return false;
    }
    return true;
  }
  bool Converged() {
    std::optional<uint64_t> digest;
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      const uint64_t d = n->StoreDigest();
      if (digest && *digest != d) return false;
      digest = d;
    }
    return true;
  }

 private:
  std::vector<std::string> urls_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

class NodeClusterTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeClusterTest, MembersFindEachOtherAndUpdatesConverge) {
  Cluster c(GetParam(), 3);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(3); })) << "membership did not form";
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 20; ++k) Increment(c[i], "k" + std::to_string(k), i + 1);
  }
  ASSERT_TRUE(WaitFor([&] { return c.Converged() && GValue(c[2], "k19") == 6; }));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(GValue(c[i], "k0"), 6u);
  EXPECT_EQ(c[0].Leader(), std::min({c[0].id(), c[1].id(), c[2].id()}));
  const auto m = c[1].Metrics();
  EXPECT_GT(m.at("crdt.replicator.delta.receive.count"), 0);
  EXPECT_EQ(m.at("convergent.membership.reachable"), 3);
  EXPECT_EQ(m.at("convergent.transport.bus.frames.lost"), 0);  // nothing was
  // One bus connection per pair, whoever dialed.
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 3; ++i) {
      if (c[i].Metrics().at("convergent.transport.bus.connections") != 2) return false;
    }
    return true;
  }));
}

TEST_P(NodeClusterTest, MajorityWritesWaitForRealAcksAndTimeOutAlone) {
  Cluster c(GetParam(), 3);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(3); }));
  auto id = c[0].Request([&](Replicator& r, TimeMicros now) {
    return r.Update("m", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kAll,
                    now);
  });
  ASSERT_TRUE(id.ok());
  auto done = c[0].Await(*id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->status.ok()) << done->status.ToString();
  EXPECT_EQ(GValue(c[1], "m"), 1u);  // ALL: applied everywhere before the ack
  EXPECT_EQ(GValue(c[2], "m"), 1u);

  c.Kill(1);
  c.Kill(2);
  id = c[0].Request([&](Replicator& r, TimeMicros now) {
    return r.Update("m", CrdtType::kGCounter, GIncrement(c[0].replica_id()), Consistency::kMajority,
                    now, 0.3);
  });
  ASSERT_TRUE(id.ok());
  done = c[0].Await(*id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status.code(), StatusCode::kTimeout);
  EXPECT_EQ(GValue(c[0], "m"), 2u);  // the local write stays
}

TEST_P(NodeClusterTest, AKilledNodeRestartsEmptyAndCatchesUp) {
  Cluster c(GetParam(), 3);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(3); }));
  for (int k = 0; k < 200; ++k) Increment(c[0], "k" + std::to_string(k), 1);
  ASSERT_TRUE(WaitFor([&] { return c.Converged() && GValue(c[2], "k199") == 1; }));
  const ReplicaId before = c[2].replica_id();
  c.Kill(2);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(2); })) << "the killed node stayed reachable";
  Increment(c[1], "k0", 5);
  c.Start(2);
  EXPECT_NE(c[2].replica_id(), before);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(3) && c.Converged() && GValue(c[2], "k0") == 6; }));
  EXPECT_EQ(GValue(c[2], "k199"), 1u);
}

TEST(NodeTest, OnlyMembersOfTheSameRoleReplicateWithEachOther) {
  NodeOptions base = FastOptions("inproc://roles-a1", {});
  base.replicator.role = "a";
  auto a1 = Node::Start(base);
  ASSERT_TRUE(a1.ok());
  NodeOptions o = FastOptions("inproc://roles-a2", {"inproc://roles-a1"});
  o.replicator.role = "a";
  auto a2 = Node::Start(o);
  o = FastOptions("inproc://roles-b1", {"inproc://roles-a1"});
  o.replicator.role = "b";
  auto b1 = Node::Start(o);
  ASSERT_TRUE(a2.ok() && b1.ok());
  // Every member sees every other (membership spans roles) ...
  ASSERT_TRUE(WaitFor([&] { return Reachable(**a1) == 3 && Reachable(**b1) == 3; }));
  Increment(**a1, "shared", 1);
  Increment(**b1, "shared", 10);
  ASSERT_TRUE(WaitFor([&] { return GValue(**a2, "shared") == 1; }));
  // ... but data flows only within a role: give anti-entropy several rounds to prove it.
  EXPECT_FALSE(
      WaitFor([&] { return GValue(**b1, "shared") != 10 || GValue(**a1, "shared") != 1; }, 1.0));
  EXPECT_EQ((*a1)->Leader(), std::min((*a1)->id(), (*a2)->id()));  // the leader of role a
  EXPECT_EQ((*b1)->Leader(), (*b1)->id());
  // b1 leaves: a goodbye that a connection to it carried is never counted as forged (a
  // connection whose frames always came second over the other was never heard as b1's: see
  // EachPairKeepsOneConnectionAndAGoodbyeIsNeverTakenForForged).
  (*b1)->Stop(/*graceful=*/true);
  ASSERT_TRUE(WaitFor([&] { return Reachable(**a1) == 2 && Reachable(**a2) == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // any late copy of the goodbye
  EXPECT_EQ((*a1)->Metrics().at("convergent.node.frames.forged"), 0);
  EXPECT_EQ((*a2)->Metrics().at("convergent.node.frames.forged"), 0);
}

double Connections(Node& n) { return n.Metrics().at("convergent.transport.bus.connections"); }

// Two nodes that dial each other: the late one dials at once (its URL is the smaller), the
// early one has waited out its patience and dials too. The two bus connections (every frame
// twice) come down to one, which then stays.
TEST(NodeTest, TwoNodesThatDialEachOtherKeepOneBusConnection) {
  const std::string tag = std::to_string(getpid());
  const std::string a_url = "inproc://dup-" + tag + "-a", b_url = "inproc://dup-" + tag + "-b";
  auto b = Node::Start(FastOptions(b_url, {a_url}));
  ASSERT_TRUE(b.ok());
  // Set-up, not a result: B's patience (two heartbeats, 100 ms) runs out, so it dials A (not up
  // yet). 1 s leaves B's loop time to get there under TSan and a loaded machine: with 200 ms, one
  // full TSan run out of many had B still patient when A came up (no second connection to close).
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto a = Node::Start(FastOptions(a_url, {b_url}));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(WaitFor([&] {
    return (*a)->Metrics().at("convergent.transport.bus.duplicates.closed") +
               (*b)->Metrics().at("convergent.transport.bus.duplicates.closed") >=
           1;
  })) << "no second connection was ever made, or it was never closed";
  ASSERT_TRUE(WaitFor([&] { return Connections(**a) == 1 && Connections(**b) == 1; }));
  // It stays one while frames flow (that it stays one over many heartbeats and redials is
  // checked in the simulator: SimulationNodeTest.NodesThatDialEachOtherKeepOneConnectionPerPair).
  for (int i = 0; i < 10; ++i) {
    Increment(**a, "one-pipe", 1);
    ASSERT_TRUE(WaitFor([&] { return GValue(**b, "one-pipe") == static_cast<uint64_t>(i + 1); }));
    EXPECT_EQ(Connections(**a), 1);
    EXPECT_EQ(Connections(**b), 1);
  }
  EXPECT_EQ((*b)->Metrics().at("convergent.transport.bus.frames.lost"), 0);
}

// Two nodes that learn of each other through a third dial each other: every frame between them
// goes over both connections, and over NNG the copies on one of them may arrive second every
// time (dropped as duplicates). That connection is still found redundant and hung up, and the
// goodbye of a member leaving is not taken for a forged one (its copies on such a connection
// were, and their warning logged at every stop).
TEST(NodeTest, EachPairKeepsOneConnectionAndAGoodbyeIsNeverTakenForForged) {
  constexpr size_t kNodes = 5;
  const std::string tag = std::to_string(getpid());
  std::vector<std::string> urls;
  for (size_t i = 0; i < kNodes; ++i) {
    urls.push_back("inproc://pairs-" + tag + "-" + std::to_string(i));
  }
  std::vector<std::unique_ptr<Node>> nodes;
  for (size_t i = 0; i < kNodes; ++i) {
    auto n = Node::Start(FastOptions(
        urls[i], i == 0 ? std::vector<std::string>{} : std::vector<std::string>{urls[0]}));
    ASSERT_TRUE(n.ok());
    nodes.push_back(std::move(n).value());
  }
  ASSERT_TRUE(WaitFor([&] {
    for (auto& n : nodes) {
      if (Reachable(*n) != kNodes || Connections(*n) != kNodes - 1) return false;
    }
    return true;
  })) << "a pair kept two connections";
  // They leave one by one; the others drop each at once, and count nothing forged.
  for (size_t gone = kNodes - 1; gone > 0; --gone) {
    nodes[gone]->Stop(/*graceful=*/true);
    ASSERT_TRUE(WaitFor([&] {
      for (size_t i = 0; i < gone; ++i) {
        if (Reachable(*nodes[i]) != gone) return false;
      }
      return true;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // any late copy of the goodbye
    for (size_t i = 0; i < gone; ++i) {
      EXPECT_EQ(nodes[i]->Metrics().at("convergent.node.frames.forged"), 0) << i;
    }
  }
}

// A node killed without a goodbye is downed after down_after: no longer a member, so ALL
// requests (which it would fail forever) succeed with the others; restarted, it rejoins.
TEST(NodeTest, AMemberGoneWithoutAGoodbyeIsDownedAndRejoinsWhenBack) {
  auto options = [](int i) {
    NodeOptions o = FastOptions("inproc://downing-" + std::to_string(i), {"inproc://downing-0"});
    o.down_after = 1.5;  // failure_timeout is 0.5
    return o;
  };
  std::vector<std::unique_ptr<Node>> n;
  for (int i = 0; i < 3; ++i) {
    auto node = Node::Start(options(i));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    n.push_back(std::move(node).value());
  }
  ASSERT_TRUE(WaitFor([&] { return Reachable(*n[0]) == 3 && Reachable(*n[1]) == 3; }));
  auto all_write = [&](Node& on) {
    auto id = on.Request([&](Replicator& r, TimeMicros now) {
      return r.Update("all", CrdtType::kGCounter, GIncrement(on.replica_id()), Consistency::kAll,
                      now, 1.0);
    });
    EXPECT_TRUE(id.ok());
    auto done = on.Await(*id);
    EXPECT_TRUE(done.ok());
    return done.ok() ? done->status : Status::InvalidArgument("no completion");
  };
  const NodeId gone = n[2]->id();
  n[2]->Stop(/*graceful=*/false);
  auto is_member = [&](Node& on) {
    const auto members = on.Members();
    return std::any_of(members.begin(), members.end(),
                       [&](const MemberView& m) { return m.id == gone; });
  };
  EXPECT_TRUE(is_member(*n[0]));  // unreachable first, not gone
  ASSERT_TRUE(WaitFor([&] { return !is_member(*n[0]) && !is_member(*n[1]); }))
      << "the killed node was never downed";
  EXPECT_GE(n[0]->Metrics().at("convergent.membership.downed"), 1);
  EXPECT_EQ(n[0]->Metrics().at("convergent.membership.members"), 2);
  Status s = all_write(*n[0]);
  EXPECT_TRUE(s.ok()) << s.ToString();  // the two left are ALL

  auto back = Node::Start(options(2));
  ASSERT_TRUE(back.ok());
  n[2] = std::move(back).value();
  ASSERT_TRUE(WaitFor([&] { return Reachable(*n[0]) == 3 && Reachable(*n[2]) == 3; }));
  s = all_write(*n[0]);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(GValue(*n[2], "all"), 2u);  // ALL: applied on the returned node before the ack
}

INSTANTIATE_TEST_SUITE_P(Transports, NodeClusterTest, ::testing::Values("inproc", "ipc", "tcp"));

TEST(NodeTest, MalformedFramesAreDroppedAndCountedWhileTheNodeServes) {
  Cluster c("ipc", 2);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(2); }));
  nng_socket raw;
  ASSERT_EQ(nng_bus0_open(&raw), 0);
  ASSERT_EQ(nng_dial(raw, c[0].bus_url().c_str(), nullptr, 0), 0);
  // Bus frames without the numbered header, and junk behind a valid header.
  const std::vector<std::string> junk = {std::string(), "x", "Rgarbage", "B\x01\x02"};
  const std::vector<std::string> inner = {std::string(), "x", "Rgarbage", "H\xff\xff\xff",
                                          std::string(1, 'R') + std::string(1000, '\x07')};
  uint64_t seq = 0;
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& j : junk) nng_send(raw, const_cast<char*>(j.data()), j.size(), 0);
    for (const std::string& j : inner) {
      std::string frame;
      internal::AppendBusHeader(internal::BusHeader{12345, 1, ++seq}, &frame);
      frame += j;
      nng_send(raw, frame.data(), frame.size(), 0);
    }
    const auto m = c[0].Metrics();
    return m.at("convergent.node.frames.malformed") >= 7 &&
           m.at("crdt.replicator.frames.dropped.malformed") >= 2;
  }));
  internal::CloseGuarded(raw);
  Increment(c[0], "still", 1);
  ASSERT_TRUE(WaitFor([&] { return GValue(c[1], "still") == 1; }));
}

// Well-formed frames that lie about their sender, on the bus and point to point: a goodbye of a
// member on a connection that never carried its heartbeats, a heartbeat (a new life) and a
// numbered frame claiming a member on a connection another member's heartbeats own, a
// heartbeat whose header names someone else, a heartbeat point to point. Each is dropped and
// counted; the member stays, and its next frames are not taken for duplicates of forged ones.
TEST(NodeTest, FramesForgingAnotherMembersIdentityAreDroppedAndCounted) {
  Cluster c("ipc", 2);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(2); }));
  const NodeId victim = c[1].id();
  const uint64_t kNewLife = ~uint64_t{0};  // a higher incarnation than any: a new life
  auto heartbeat = [&](NodeId id, uint64_t incarnation, bool leaving, NodeId header_id,
                       uint64_t seq) {
    internal::HeartbeatMsg h;
    h.sender = internal::MemberRecord{
        id, "m", incarnation, "ipc:///nowhere", "ipc:///nowhere.p2p", "", leaving, 77, ""};
    std::string frame;
    internal::AppendBusHeader(internal::BusHeader{header_id, incarnation, seq}, &frame);
    return frame + internal::EncodeHeartbeatFrame(h);
  };
  auto forged = [&] { return c[0].Metrics().at("convergent.node.frames.forged"); };
  auto duplicates = [&] { return c[0].Metrics().at("convergent.transport.bus.frames.duplicate"); };
  const double duplicates_before = duplicates();
  nng_socket raw;
  ASSERT_EQ(nng_bus0_open(&raw), 0);
  ASSERT_EQ(nng_dial(raw, c[0].bus_url().c_str(), nullptr, 0), 0);
  auto send = [&](std::string frame) { nng_send(raw, frame.data(), frame.size(), 0); };
  // 0. A numbered frame of the victim's "new life", first thing on a new connection: delivered
  // (its content is a replication frame like any), but it does not renumber the victim.
  std::string renumber;
  internal::AppendBusHeader(internal::BusHeader{victim, kNewLife, 1}, &renumber);
  const double received = c[0].Metrics().at("crdt.replicator.frames.dropped.malformed");
  ASSERT_TRUE(WaitFor([&] {
    send(renumber + "Rjunk");
    return c[0].Metrics().at("crdt.replicator.frames.dropped.malformed") > received;
  }));
  // 1. The victim's goodbye, first thing on a new connection.
  ASSERT_TRUE(WaitFor([&] {
    send(heartbeat(victim, kNewLife, true, victim, 1));
    return forged() >= 1;
  }));
  // 2. The connection now carries the heartbeats of an impostor of its own...
  const NodeId impostor = 0x1234567;
  ASSERT_TRUE(WaitFor([&] {
    send(heartbeat(impostor, 1, false, impostor, 1));
    return c[0].Metrics().at("convergent.membership.members") == 3;
  }));
  // ... and claims the victim: a new life, a goodbye, a numbered frame far ahead.
  const double before = forged();
  send(heartbeat(victim, kNewLife, false, victim, 1ull << 40));
  send(heartbeat(victim, kNewLife, true, victim, (1ull << 40) + 1));
  std::string numbered;
  internal::AppendBusHeader(internal::BusHeader{victim, kNewLife, 1ull << 41}, &numbered);
  send(numbered + "Rjunk");
  ASSERT_TRUE(WaitFor([&] { return forged() >= before + 3; }));
  // 3. A heartbeat whose header names another sender than its body: malformed.
  const double malformed = c[0].Metrics().at("convergent.node.frames.malformed");
  ASSERT_TRUE(WaitFor([&] {
    send(heartbeat(victim, 1, false, impostor, 2));
    return c[0].Metrics().at("convergent.node.frames.malformed") > malformed;
  }));
  internal::CloseGuarded(raw);
  // 4. A heartbeat point to point, where none is ever sent.
  nng_socket push;
  ASSERT_EQ(nng_push0_open(&push), 0);
  ASSERT_EQ(nng_dial(push, c[0].p2p_url().c_str(), nullptr, 0), 0);
  const double before_p2p = forged();
  ASSERT_TRUE(WaitFor([&] {
    internal::HeartbeatMsg h;
    h.sender = internal::MemberRecord{victim, "m", kNewLife, "", "", "", true, 77, ""};
    std::string frame = internal::EncodeHeartbeatFrame(h);
    nng_send(push, frame.data(), frame.size(), NNG_FLAG_NONBLOCK);
    return forged() > before_p2p;
  }));
  internal::CloseGuarded(push);
  // The victim is still a reachable member, and its frames were never renumbered by forged
  // ones (they would all be dropped as duplicates of an older life).
  Increment(c[1], "after", 1);
  EXPECT_TRUE(WaitFor([&] { return GValue(c[0], "after") == 1; }, 1.0));
  EXPECT_LT(duplicates() - duplicates_before, 3);
}

TEST(NodeTest, OversizedFramesAreCountedAndRefusedWhileTheNodeServes) {
  Cluster c("ipc", 2);
  ASSERT_TRUE(WaitFor([&] { return c.AllSee(2); }));
  const auto before = c[0].Metrics().at("convergent.transport.bytes.received");
  EXPECT_EQ(c[0].Metrics().at("convergent.transport.frames.oversized"), 0);
  for (const char* path : {"bus", "p2p"}) {
    nng_socket raw;
    if (std::string(path) == "bus") {
      ASSERT_EQ(nng_bus0_open(&raw), 0);
      ASSERT_EQ(nng_dial(raw, c[0].bus_url().c_str(), nullptr, 0), 0);
    } else {
      ASSERT_EQ(nng_push0_open(&raw), 0);
      ASSERT_EQ(nng_dial(raw, c[0].p2p_url().c_str(), nullptr, 0), 0);
    }
    // One byte above the node's max_frame_size (4 MiB): read, dropped and counted.
    std::string big((4 << 20) + 1, 'R');
    ASSERT_EQ(nng_send(raw, big.data(), big.size(), 0), 0);
    ASSERT_TRUE(WaitFor([&] {
      return c[0].Metrics().at("convergent.transport.frames.oversized") ==
             (std::string(path) == "bus" ? 1 : 2);
    })) << path;
    if (std::string(path) == "bus") {
      // Above twice that: NNG refuses it unread and closes the connection. (Not on the push
      // socket: its nng_close can hang on a send the peer cut, upstream nng issue 1543.)
      std::string huge((8 << 20) + 1, 'R');
      ASSERT_EQ(nng_send(raw, huge.data(), huge.size(), 0), 0);
    }
    // The raw socket's own close can hang on the connection NNG cut (upstream issue 1543): it
    // is not what the test is about, so it must not hang the test.
    internal::CloseGuarded(raw);
  }
  Increment(c[0], "after-huge", 1);
  Increment(c[1], "after-huge", 2);
  ASSERT_TRUE(WaitFor([&] { return GValue(c[1], "after-huge") == 3; }));
  ASSERT_TRUE(WaitFor([&] { return GValue(c[0], "after-huge") == 3; }));
  // None of the refused frames' bytes reached the node; the two counted ones only.
  EXPECT_EQ(c[0].Metrics().at("convergent.transport.frames.oversized"), 2);
  EXPECT_LT(c[0].Metrics().at("convergent.transport.bytes.received") - before, 1 << 20);
  EXPECT_EQ(c[0].Metrics().at("convergent.node.frames.malformed"), 0);
}

TEST(NodeTest, BadOptionsAreRejectedAtStart) {
  NodeOptions o = FastOptions("", {});
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
  o = FastOptions("bogus://nowhere", {});
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
  o = FastOptions("inproc://bad-hb", {});
  o.failure_timeout = o.heartbeat_interval / 2;
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
  o = FastOptions("inproc://bad-ae", {});
  o.replicator.anti_entropy_interval = -1;
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
  o = FastOptions("tls+tcp://127.0.0.1:0", {});  // no certificate files
  EXPECT_EQ(Node::Start(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace convergent

namespace convergent::internal {
namespace {

TEST(SeedResolverTest, NamesExpandToTheirAddressesAndLiteralsStay) {
  EXPECT_FALSE(SeedResolver::HasName("tcp://127.0.0.1:7000"));
  EXPECT_FALSE(SeedResolver::HasName("ipc:///tmp/x"));
  EXPECT_TRUE(SeedResolver::HasName("tcp://localhost:7000"));
  EXPECT_TRUE(SeedResolver::HasName("tls+tcp://db.svc.cluster.local:7000"));
  EXPECT_EQ(SeedResolver::Expand("tcp://10.1.2.3:7000"),
            std::vector<std::string>{"tcp://10.1.2.3:7000"});
  const std::vector<std::string> local = SeedResolver::Expand("tcp://localhost:7000");
  EXPECT_NE(std::find(local.begin(), local.end(), "tcp://127.0.0.1:7000"), local.end());
  EXPECT_TRUE(SeedResolver::Expand("tcp://no-such-host.invalid:7000").empty());
  SeedResolver r({"tcp://no-such-host.invalid:7000", "tcp://localhost:7000"}, 60);
  ASSERT_TRUE(test::WaitFor([&] {
    const std::vector<std::string> now = r.Current();
    return std::find(now.begin(), now.end(), "tcp://127.0.0.1:7000") != now.end();
  }));
  EXPECT_EQ(r.Current()[0], "tcp://no-such-host.invalid:7000");  // kept until it resolves
}

}  // namespace
}  // namespace convergent::internal

namespace convergent {
namespace {

// (NNG would resolve one address of the name by itself; SeedResolverTest checks the expansion.)
TEST(NodeTest, ASeedGivenByHostNameJoinsTheCluster) {
  auto first = Node::Start(FastOptions("tcp://127.0.0.1:0", {}));
  ASSERT_TRUE(first.ok());
  const std::string url = (*first)->bus_url();
  const std::string by_name = "tcp://localhost:" + url.substr(url.rfind(':') + 1);
  auto second = Node::Start(FastOptions("tcp://127.0.0.1:0", {by_name}));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(WaitFor([&] { return Reachable(**first) == 2 && Reachable(**second) == 2; }));
}

}  // namespace
}  // namespace convergent

namespace convergent {
namespace {

// Formation: a node counts the seeds it has not heard from, so a Majority write made before the
// cluster formed waits for real acks instead of being "reached" by the node alone.
TEST(NodeFormationTest, AMajorityWriteBeforeTheSeedsAreHeardWaitsForThemAndIsNeverAloneAcked) {
  const std::string tag = std::to_string(getpid());
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) urls.push_back("inproc://formation-" + tag + "-" + std::to_string(i));
  auto a = Node::Start(FastOptions(urls[0], urls));
  ASSERT_TRUE(a.ok());
  Node& n0 = **a;
  EXPECT_FALSE(n0.ready());
  EXPECT_EQ(n0.Metrics().at("convergent.membership.replicas.counted"), 3);
  auto write = [&](double timeout) {
    auto id = n0.Request([&](Replicator& r, TimeMicros now) {
      return r.Update("m", CrdtType::kGCounter, GIncrement(n0.replica_id()), Consistency::kMajority,
                      now, timeout);
    });
    EXPECT_TRUE(id.ok());
    auto done = n0.Await(*id);
    EXPECT_TRUE(done.ok());
    return done->status;
  };
  EXPECT_EQ(write(0.2).code(), StatusCode::kTimeout);  // alone: 1 of 3 is not a majority
  const Status waited = n0.WaitReady(0.1);
  EXPECT_EQ(waited.code(), StatusCode::kTimeout);
  EXPECT_NE(waited.message().find(urls[1]), std::string::npos) << waited.ToString();

  // A write issued before the others start completes once one of them joins and acks it.
  auto id = n0.Request([&](Replicator& r, TimeMicros now) {
    return r.Update("m", CrdtType::kGCounter, GIncrement(n0.replica_id()), Consistency::kMajority,
                    now, 10.0);
  });
  ASSERT_TRUE(id.ok());
  auto b = Node::Start(FastOptions(urls[1], urls));
  auto c = Node::Start(FastOptions(urls[2], urls));
  ASSERT_TRUE(b.ok() && c.ok());
  auto done = n0.Await(*id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->status.ok()) << done->status.ToString();
  EXPECT_GE(int(GValue(**b, "m") == 2) + int(GValue(**c, "m") == 2), 1);
  for (Node* n : {&n0, b->get(), c->get()}) {
    EXPECT_TRUE(n->WaitReady(20).ok());
    EXPECT_EQ(n->Metrics().at("convergent.membership.seeds.unheard"), 0);
  }
}

TEST(NodeFormationTest, MinMembersHoldsMajorityUntilThatManyReplicasExist) {
  NodeOptions o = FastOptions("inproc://formation-min-" + std::to_string(getpid()));
  o.min_members = 2;
  auto a = Node::Start(o);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE((*a)->ready());
  EXPECT_EQ((*a)->Metrics().at("convergent.membership.replicas.counted"), 2);
  auto id = (*a)->Request([&](Replicator& r, TimeMicros now) {
    return r.Update("m", CrdtType::kGCounter, GIncrement((*a)->replica_id()), Consistency::kAll,
                    now, 0.2);
  });
  ASSERT_TRUE(id.ok());
  EXPECT_EQ((*a)->Await(*id)->status.code(), StatusCode::kTimeout);
  NodeOptions bad = o;
  bad.min_members = 0;
  EXPECT_EQ(Node::Start(bad).status().code(), StatusCode::kInvalidArgument);
}

// Writes made before two nodes were connected cross at first contact, not at the next
// anti-entropy round (here a minute away): no gap in frame numbers reveals them.
TEST(NodeFormationTest, WritesMadeBeforeTheMeshFormedCrossAtFirstContact) {
  const std::string tag = std::to_string(getpid());
  NodeOptions oa = FastOptions("inproc://first-contact-a-" + tag);
  oa.replicator.anti_entropy_interval = 60;
  auto a = Node::Start(oa);
  ASSERT_TRUE(a.ok());
  for (int k = 0; k < 2000; ++k) Increment(**a, "k" + std::to_string(k));
  NodeOptions ob = FastOptions("inproc://first-contact-b-" + tag, {(*a)->bus_url()});
  ob.replicator.anti_entropy_interval = 60;
  auto b = Node::Start(ob);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->WaitReady(10).ok());
  EXPECT_TRUE(WaitFor([&] { return (*b)->StoreDigest() == (*a)->StoreDigest(); }, 10));
  EXPECT_EQ(GValue(**b, "k1999"), 1u);
  EXPECT_GE((*b)->Metrics().at("crdt.replicator.antientropy.meeting.count"), 1);
}

}  // namespace
}  // namespace convergent

namespace convergent {
namespace {

size_t CountEntries(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// What the open file descriptors are (for a failure message).
std::string DescribeFds() {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    out += " " + e.path().filename().string() + "->" +
           std::filesystem::read_symlink(e.path(), ec).string();
  }
  return out;
}

// A process that starts and stops many nodes (tests, notebooks, a benchmark) keeps no thread
// and no socket of them: the counts come back to where they were after the first pair (NNG
// starts its own worker threads once per process). On Debian's NNG 1.5.2 this needs the
// transport's closing protocol (nng_transport.cc): closing connections from this side wedged NNG
// about one run in four.
TEST(NodeLifecycleTest, StartingAndStoppingAHundredNodesLeavesNoThreadOrSocketBehind) {
  const std::string tag = std::to_string(getpid());
  auto pair = [&](int i, bool graceful) {
    const std::string a = "inproc://lifecycle-" + tag + "-a" + std::to_string(i);
    const std::string b = "tcp://127.0.0.1:0";
    auto na = Node::Start(FastOptions(a));
    ASSERT_TRUE(na.ok());
    auto nb = Node::Start(FastOptions(b, {}));
    ASSERT_TRUE(nb.ok());
    auto nc = Node::Start(FastOptions("tcp://127.0.0.1:0", {(*nb)->bus_url()}));
    ASSERT_TRUE(nc.ok());
    ASSERT_TRUE((*nc)->WaitReady(10).ok());
    Increment(**nc, "k");
    (*na)->Stop(graceful);
    (*nb)->Stop(graceful);
    (*nc)->Stop(graceful);
  };
  pair(0, true);
  const size_t threads = CountEntries("/proc/self/task");
  const size_t fds = CountEntries("/proc/self/fd");
  const std::string fds_before = DescribeFds();
  const uint64_t left_behind = internal::SocketsLeftBehind();
  for (int i = 1; i < 34; ++i) pair(i, i % 2 == 0);  // 99 more nodes, half stopped abruptly
  // NNG closes a connection's descriptor on its reaper thread, a moment after nng_close returns
  // (over 2 s once, with the whole test run starting beside it on 2 cores).
  WaitFor([&] { return CountEntries("/proc/self/fd") <= fds; }, 10);
  EXPECT_EQ(internal::SocketsLeftBehind(), left_behind) << "an nng_close hung";
  EXPECT_LE(CountEntries("/proc/self/task"), threads);
  EXPECT_LE(CountEntries("/proc/self/fd"), fds)
      << "before:" << fds_before << "\nafter:" << DescribeFds();
}

}  // namespace
}  // namespace convergent
