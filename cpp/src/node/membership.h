// Membership: the members a node knows, who is reachable (a failure detector on heartbeats), and
// the leader (the reachable member with the smallest id). Pure logic: heartbeats and `now` come
// in, the Node acts on the results (connects, updates the Replicator's peers).
//
// Incarnations number a member's lives (its wall clock at start): a higher one is a new life, and
// a lower one heard straight from a member whose known life is silent (unreachable) is a new
// life too, started after the member's wall clock stepped back.
//
// With datacenters, a node's members are those of its own datacenter: gossip of members of
// another is ignored (node/datacenters.h knows those).
//
// Members leave by a goodbye (a graceful stop) or, when silent for `down_after`, are downed (as
// Akka's auto-downing): no longer members, so no longer peers nor counted by Majority/All. Gossip
// about a departed member's same incarnation does not bring it back (the others may not have
// seen it go yet); a heartbeat straight from it, or a newer incarnation, does.
//
// Thread safety: none; the node's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convergent/replicator.h"
#include "node/loss_detector.h"

namespace convergent::internal {

struct MemberRecord {
  NodeId id = 0;
  std::string name;
  uint64_t incarnation = 0;
  std::string bus_url;
  std::string p2p_url;
  std::string role;
  bool leaving = false;
  uint64_t replica = 0;    // the ReplicaId of this incarnation (0: not told)
  std::string datacenter;  // empty: no datacenters
};

// Another datacenter as a gateway tells its own (node/datacenters.h).
struct RemoteDcInfo {
  std::string name;
  std::vector<MemberRecord> members;
  std::optional<NodeId> gateway;
  bool reachable = false;
};

struct HeartbeatMsg {
  MemberRecord sender;
  std::vector<MemberRecord> known;
  std::vector<LossReport> losses;          // bus frames of other members the sender found lost
  std::vector<uint64_t> removed_replicas;  // incarnations the sender recently learned are gone
  // From a datacenter's gateway: the other datacenters, and per other datacenter the age of the
  // newest change it holds (see DcReplication::AckedAges).
  std::vector<RemoteDcInfo> datacenters;
  std::vector<std::pair<std::string, TimeMicros>> dc_acked;
};

// What a node knows of one member.
struct MemberState {
  MemberRecord info;
  bool heard = false;         // a heartbeat came straight from it (else: only heard of)
  TimeMicros last_heard = 0;  // the last one
  TimeMicros learned = 0;     // when this node learned of it
  bool reachable = false;
};

class Membership {
 public:
  // `down_after`: silence after which a member is downed (0: never).
  Membership(MemberRecord self, TimeMicros failure_timeout, TimeMicros down_after = 0);

  const MemberRecord& self() const { return self_; }
  // A heartbeat; `direct` when it came straight from its sender over the bus. Returns true when
  // the member set, an address or reachability changed.
  bool OnHeartbeat(const HeartbeatMsg& h, TimeMicros now, bool direct);
  // The failure detector: members silent for longer than the timeout become unreachable, and
  // for longer than down_after are downed. Returns true when reachability or the members changed.
  bool Check(TimeMicros now);
  // The heartbeat to broadcast: self plus every member known.
  HeartbeatMsg MakeHeartbeat(bool leaving = false) const;

  // Members other than self whose role matches ours (the Replicator's peers).
  std::vector<NodeId> Peers() const;
  // The reachable member (self included) with the smallest id, among those of our role.
  NodeId Leader() const;
  bool IsReachable(NodeId id) const;
  // The members met since the last call: heard straight from for the first time, in a new
  // incarnation, or again after they were unreachable (the node repairs with them at once).
  std::vector<NodeId> TakeMet() { return std::exchange(met_, {}); }
  const std::map<NodeId, MemberState>& members() const { return members_; }
  uint64_t downed_count() const { return downed_count_; }  // members downed so far
  // The replica ids of incarnations gone for good since the last call: replaced by a newer life
  // of their node, or left with a goodbye, as this node saw it or a peer's heartbeat told it
  // (heartbeats repeat what their sender learned in the last kRemovedGossip). A downed member
  // may come back: not listed.
  std::vector<uint64_t> TakeRemovedReplicas() { return std::exchange(removed_replicas_, {}); }
  bool has_removed_replicas() const { return !removed_replicas_.empty(); }
  static constexpr TimeMicros kRemovedGossip = 120'000'000;
  // A replica gone for good, learned now (first time only): an incarnation, or a writer that
  // retired (NodeCore::RetireWriter). Gossiped like the others.
  void NoteRemoved(uint64_t replica, TimeMicros now);

 private:
  // Records a member that left or was downed (gossip of that incarnation is then ignored).
  void Depart(NodeId id, uint64_t incarnation);
  // Whether `m` is (an incarnation of) a member that left or was downed.
  bool Departed(const MemberRecord& m) const;

  MemberRecord self_;
  TimeMicros failure_timeout_;
  TimeMicros down_after_;
  std::map<NodeId, MemberState> members_;  // self excluded
  std::map<NodeId, uint64_t> departed_;    // id -> the incarnation that left or was downed
  uint64_t downed_count_ = 0;
  std::vector<NodeId> met_;
  std::vector<uint64_t> removed_replicas_;
  std::map<uint64_t, TimeMicros> recently_removed_;  // -> when learned (gossiped until expiry)
};

}  // namespace convergent::internal
