// Datacenters: what a node knows of the other datacenters (docs/concepts.md, "Multiple
// datacenters"). Inside a datacenter nodes form a cluster as without datacenters (Membership);
// between datacenters only gateways talk: each datacenter's gateway (its leader) sends a hello
// point to point every heartbeat interval to one node of each other datacenter (its target), which
// answers; both tell their datacenter's members and gateway. So each gateway knows whom to send
// to, and whom next when the target falls silent for failure_timeout (then it greets every member
// it knows of that datacenter until one answers). A datacenter whose members are not known yet is
// found through its seeds (bus URLs): the gateway dials one, reads the heartbeat that comes over
// that connection (it carries the member's point-to-point URL and datacenter), and hangs up.
// Every member tells the others what it knows of the other datacenters in its heartbeats: the
// others adopt the gateway's word, and the gateway learns the members of other datacenters that a
// member heard of (another datacenter's gateway may have probed or greeted that member first), so
// any of them can take over, and the gateway greets whom its members met.
//
// Pure logic: hellos, heartbeats and `now` come in; the node core sends and connects.
//
// Thread safety: none; the node core owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "node/membership.h"

namespace convergent::internal {

// A hello between datacenters (node.proto, DatacenterHello).
struct DatacenterHelloMsg {
  MemberRecord sender;
  std::vector<MemberRecord> members;  // the sender's datacenter, as it reaches them
  std::optional<NodeId> gateway;      // of the sender's datacenter
  bool reply = false;
};

class Datacenters {
 public:
  // `self`: this node's datacenter (empty: no datacenters; nothing else does anything);
  // `seeds`: bus URLs of members of the other datacenters, by datacenter.
  Datacenters(std::string self, std::map<std::string, std::vector<std::string>> seeds,
              TimeMicros failure_timeout);

  // Other datacenters a node keeps track of at most (hellos naming more are ignored).
  static constexpr size_t kMaxDatacenters = 64;

  bool enabled() const { return !self_.empty(); }
  const std::string& self() const { return self_; }

  // A hello, an answer, or a heartbeat over a probing connection, straight from `sender` of
  // another datacenter. Returns true when it changed the members or a target.
  bool OnHello(const DatacenterHelloMsg& hello, TimeMicros now);
  // The gateway's word, from its heartbeat (a member that is not the gateway). Returns true when
  // it changed anything.
  bool Adopt(const std::vector<RemoteDcInfo>& told);
  // A member's word (not the gateway's), heard by the gateway: members of other datacenters it
  // does not know yet are learned (whom to greet). Returns true when it learned any.
  bool Learn(const std::vector<RemoteDcInfo>& told);
  // What this node tells its datacenter in its heartbeats.
  std::vector<RemoteDcInfo> Gossip(TimeMicros now) const;
  // Whether `node` is a member of another datacenter as far as this node knows.
  bool IsRemote(NodeId node) const;

  // Whom the gateway greets now: per datacenter its target, or every member known when it has
  // none (of `role`, or of any role when none of it is known); and the seeds of datacenters
  // with no member known, to probe.
  std::vector<MemberRecord> ToGreet(const std::string& role, TimeMicros now) const;
  std::vector<std::string> ToProbe() const;
  // Every member of the other datacenters this node knows (to set their addresses).
  std::vector<MemberRecord> AllMembers() const;
  // The other datacenters as the replicator sees them (members of `role`, the target).
  std::vector<RemoteDatacenter> ForReplicator(const std::string& role, bool gateway,
                                              TimeMicros now) const;
  // Per datacenter: its name, whether it is reachable now, and its members.
  struct View {
    std::string name;
    bool reachable = false;
    std::optional<NodeId> gateway;
    std::vector<MemberRecord> members;
  };
  std::vector<View> Views(bool gateway, TimeMicros now) const;

 private:
  struct Remote {
    std::map<NodeId, MemberRecord> members;  // as last told
    std::optional<NodeId> gateway;           // as last told
    std::map<NodeId, TimeMicros> heard;      // members heard straight from -> when
    bool told_reachable = false;             // as the gateway told (a member not the gateway)
  };
  // The member of `r` this node's gateway sends to: its gateway when heard from lately, else
  // the member of `role` with the smallest id heard from lately.
  std::optional<NodeId> TargetOf(const Remote& r, const std::string& role, TimeMicros now) const;
  bool Reachable(const Remote& r, bool gateway, TimeMicros now) const;
  // The record of another datacenter `name` (made if new); nullptr for this one, an empty name,
  // or a new one past kMaxDatacenters.
  Remote* Slot(const std::string& name);
  // remote_ids_ from the members.
  void IndexMembers();

  std::string self_;
  std::map<std::string, std::vector<std::string>> seeds_;
  TimeMicros failure_timeout_;
  std::map<std::string, Remote> remotes_;
  std::set<NodeId> remote_ids_;
};

}  // namespace convergent::internal
