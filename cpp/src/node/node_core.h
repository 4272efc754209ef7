// NodeCore: everything a cluster member decides, as a sans-I/O state machine: membership and
// failure detection (heartbeats), downing, formation (N of Majority/All while the cluster forms,
// readiness), the numbering of bus frames and the detection of lost ones, flush pacing
// (back-pressure), the one-connection-per-pair rule, the first anti-entropy round with every
// member met, and snapshot scheduling, around the node's Replicator. Its inputs are frames
// (OnFrame), time (Tick, at NextDeadline) and local requests on replicator(); it reads the time,
// logs, and makes its transport and snapshot store through its Env only, so the simulator runs
// exactly this code on virtual time and a simulated network, and Node (convergent/node.h) runs
// it on NNG, LevelDB and the real clocks.
//
// With datacenters (NodeOptions::datacenter), membership is per datacenter and the node core also
// runs the datacenter directory (node/datacenters.h): the gateway (the datacenter's leader)
// greets the other datacenters, probes their seeds, and tells its members what it learned and
// what the other datacenters acknowledged; every node hands the replicator the other
// datacenters (Replicator::SetDatacenters), whose gateway sends the batches.
//
// Timers (heartbeats, flushes, anti-entropy, snapshots, failure detection) run on the Env's
// monotonic clock; the wall clock gives LWW timestamps, tombstone ages and incarnation numbers.
//
// Thread safety: none. One owner calls everything (the node's loop under its lock, or the
// simulator); the transport's FrameHandler must hand frames to that owner.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "convergent/env.h"
#include "convergent/node_options.h"
#include "convergent/replicator.h"
#include "node/bus_links.h"
#include "node/datacenters.h"
#include "node/flush_pacer.h"
#include "node/formation.h"
#include "node/handshake_report.h"
#include "node/loss_detector.h"
#include "node/membership.h"
#include "node/snapshot_keeper.h"

namespace convergent::internal {

class NodeCore {
 public:
  // Validates the options, opens and restores the snapshot store, and makes the transport
  // (frames go to `deliver`, which must queue them for the owner). Errors: bad options, a URL
  // that cannot be listened on, a snapshot directory that cannot be opened.
  static Result<std::unique_ptr<NodeCore>> Start(NodeOptions options, Env& env,
                                                 Transport::FrameHandler deliver);
  ~NodeCore();
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // ---- inputs ----
  // A frame the transport delivered (see Transport::FrameHandler). Malformed: dropped, counted.
  void OnFrame(std::string_view frame, bool from_bus, uint32_t bus_pipe);
  // Runs what is due now (heartbeats, failure detection, the replicator's timers, snapshots)
  // and sends what the replicator produced.
  void Tick();
  // The seeds with DNS names resolved (the shell resolves them off the loop).
  void SetSeeds(const std::vector<std::string>& seeds);
  // Monotonic microseconds: when Tick has something to do next.
  TimeMicros NextDeadline() const;
  // The Env's monotonic time now.
  TimeMicros Now() const;

  // ---- local requests ----
  // Run requests on it at Now(), then call Flush().
  Replicator& replicator() { return *replicator_; }
  const Replicator& replicator() const { return *replicator_; }
  // Sends the frames the replicator produced.
  void Flush();
  // A writer replica other than this node's own that wrote through it (a process-backed handle,
  // which writes as a replica of its own) and will never write again: removed, like an earlier
  // incarnation, here and, through heartbeats, on every member, so the leader prunes it.
  void RetireWriter(ReplicaId writer);

  // ---- lifecycle ----
  // A graceful stop: flushes the buffered deltas, writes a last snapshot, says goodbye.
  void Leave();
  // Closes the transport and the snapshot store (after Leave, or for a crash). Idempotent.
  void Close();

  // ---- observation ----
  // Every seed heard from and min_members replicas reachable (see Formation).
  bool ready() const;
  // What the node still waits for, for an error message (empty when ready).
  std::string WaitingFor() const;
  NodeId id() const { return membership_->self().id; }
  ReplicaId replica_id() const { return replicator_->replica_id(); }
  uint64_t incarnation() const { return membership_->self().incarnation; }
  const std::string& name() const { return membership_->self().name; }
  const std::string& bus_url() const { return membership_->self().bus_url; }
  const std::string& p2p_url() const { return membership_->self().p2p_url; }
  std::vector<MemberView> Members() const;
  NodeId Leader() const;
  std::map<std::string, double> Metrics() const;
  Transport& transport() { return *transport_; }

 private:
  NodeCore(NodeOptions options, Env& env);
  Status Open(Transport::FrameHandler deliver);

  void Dispatch(std::string_view frame, bool from_bus, uint32_t pipe, TimeMicros now);
  // A heartbeat that came on bus connection `pipe` (only the bus carries heartbeats), checked
  // by Dispatch: a connection carries one member's frames, and a goodbye only on a connection
  // that carried that member's heartbeats.
  void OnHeartbeat(const HeartbeatMsg& h, uint32_t pipe, TimeMicros now);
  // Counts a forged frame; logs it, with the count so far, at most every 10 s.
  void NoteForged(const std::string& what, TimeMicros now);
  // A heartbeat from a member of another datacenter: over a connection this node dialed to
  // probe a seed, or dialed by such a gateway to probe this node.
  void OnRemoteHeartbeat(const HeartbeatMsg& h, uint32_t pipe, TimeMicros now);
  void OnDatacenterHello(std::string_view body, TimeMicros now);
  void SendHello(const MemberRecord& to, bool reply);
  // The gateway greets the other datacenters and probes the seeds of those it knows no member of.
  void GreetDatacenters(TimeMicros now);
  // The directory or the leader changed: addresses, and the replicator's view.
  void UpdateDatacenters(TimeMicros now);
  bool gateway() const { return membership_->Leader() == membership_->self().id; }
  void Heartbeat(TimeMicros now);
  void DialMembersAndSeeds(TimeMicros now);
  void KeepOneBusLink(NodeId member, uint32_t pipe, TimeMicros now);
  // Membership changed: peers, transport addresses, N, and the first round with members met.
  void UpdatePeers();
  // Membership changed: the replicator's view of incarnations for removed-replica pruning.
  void UpdatePruning();
  void SetFlushIntervalFromPacer();
  std::string NextBusHeader();
  void BroadcastHeartbeat(HeartbeatMsg h, TimeMicros now);
  void BroadcastFrame(std::string_view frame, TimeMicros now);

  NodeOptions options_;
  Env& env_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Formation> formation_;
  std::unique_ptr<BusLinks> links_;              // one bus connection per pair
  std::unique_ptr<FlushPacer> pacer_;            // back-pressure: the delta flush interval
  std::unique_ptr<SnapshotKeeper> snapshots_;    // null: no snapshots
  std::unique_ptr<Datacenters> dcs_;             // the other datacenters (inert without)
  std::unique_ptr<HandshakeReport> handshakes_;  // logs connections refused in the handshake
  std::set<std::string> probing_;  // seeds of other datacenters dialed to probe, until answered
  std::map<NodeId, std::string> remote_peers_;  // members of other datacenters -> p2p URL set
  uint64_t hellos_sent_ = 0;
  uint64_t hellos_received_ = 0;
  uint64_t foreign_heartbeats_ = 0;  // from another datacenter, while this node has none
  LossDetector loss_;                // bus frames of the peers lost on the way
  TimeMicros started_at_ = 0;
  TimeMicros next_heartbeat_ = 0;
  uint64_t bus_seq_ = 0;  // the number of this node's last bus frame
  uint64_t malformed_ = 0;
  uint64_t forged_ = 0;  // frames claiming a sender they cannot be from (see Dispatch)
  TimeMicros next_forged_log_ = 0;
  bool seeds_heard_ = false;  // as of the last UpdatePruning
  uint64_t duplicate_links_closed_ = 0;
  std::set<NodeId> known_;                       // the members as of the last UpdatePeers
  std::map<std::string, NodeId> dialed_member_;  // a URL this node dialed -> who answered
  bool closed_ = false;
};

}  // namespace convergent::internal
