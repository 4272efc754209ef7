// Membership: the members a node knows, who is reachable (a failure detector on heartbeats), and
// the leader (the reachable member with the smallest id). Pure logic: heartbeats and `now` come
// in, the Node acts on the results (connects, updates the Replicator's peers).
//
// Thread safety: none; the node's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
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
};

struct HeartbeatMsg {
  MemberRecord sender;
  std::vector<MemberRecord> known;
  std::vector<LossReport> losses;  // bus frames of other members the sender found lost
};

// What a node knows of one member.
struct MemberState {
  MemberRecord info;
  TimeMicros last_heard = 0;  // last heartbeat straight from it (0: only heard of)
  bool reachable = false;
};

class Membership {
 public:
  Membership(MemberRecord self, TimeMicros failure_timeout);

  const MemberRecord& self() const { return self_; }
  // A heartbeat; `direct` when it came straight from its sender over the bus. Returns true when
  // the member set, an address or reachability changed.
  bool OnHeartbeat(const HeartbeatMsg& h, TimeMicros now, bool direct);
  // The failure detector: members silent for longer than the timeout become unreachable.
  // Returns true when reachability changed.
  bool Check(TimeMicros now);
  // The heartbeat to broadcast: self plus every member known.
  HeartbeatMsg MakeHeartbeat(bool leaving = false) const;

  // Members other than self whose role matches ours (the Replicator's peers).
  std::vector<NodeId> Peers() const;
  // The reachable member (self included) with the smallest id, among those of our role.
  NodeId Leader() const;
  bool IsReachable(NodeId id) const;
  const std::map<NodeId, MemberState>& members() const { return members_; }

 private:
  MemberRecord self_;
  TimeMicros failure_timeout_;
  std::map<NodeId, MemberState> members_;  // self excluded
};

}  // namespace convergent::internal
