// Simulation: a deterministic cluster of nodes on a simulated network, in virtual time.
//
// Every node runs the same node core as a real node (cpp/src/node/node_core.h: membership by
// heartbeats, formation and readiness, failure detection, bus-frame numbering and loss repair,
// flush pacing, the one-connection-per-pair rule, snapshots), around the same sans-I/O
// Replicator, through an Env of virtual time. The network behaves like NNG: bus connections are
// dialed and take a round trip to form (refused while the target is down or cut off, redialed
// every reconnect_interval), both ends dialing make two connections, each direction of a bus
// connection queues at most 16 + send_buffer frames and drops the rest while its receiver is
// busy (frame_cost per frame), frames above the receiver's max_frame_size are dropped and
// counted; on top of that the links add seeded loss, duplication, latency and jitter (so
// reordering) and partitions. Each node has its own wall clock (SkewClock steps it) for LWW
// timestamps and tombstone ages, and its own in-memory snapshot store (when node.snapshot_dir
// is set) that survives crashes and can fail writes, damage records or lose its last write.
//
// One seeded std::mt19937_64 drives every random choice (frame fates and delays, each
// incarnation's ReplicaId and Replicator seed), and events due at the same virtual time run in
// the order they were scheduled: the same seed and the same script give the same run, frame for
// frame (see TraceHash()).
//
// Nodes are NodeId 0..n-1, each with every other member as a seed; added nodes take the next id
// and ids are never reused. With datacenters (SimulationOptions::datacenters) the nodes are
// numbered datacenter by datacenter; each has the members of its own datacenter as seeds and
// those of the others as remote seeds (docs/concepts.md, "Multiple datacenters"), and the
// latency between two datacenters can be set apart (SetDatacenterLatency) and their traffic
// counted apart (NetworkStatsBetween). A node knows the others only once heartbeats have crossed (a
// few tens of virtual milliseconds after the start); until then Majority/All count its unheard
// seeds (see NodeOptions::seeds). A crashed node stays a member (its peers keep counting it for
// Majority/All) until it restarts as a new incarnation with a fresh ReplicaId (and its snapshot,
// when configured); a removed node says goodbye and leaves the membership.
//
// Local requests go through the simulation (Update, Delete, Read) so that their frames are sent
// and their timers set. Calling node(i) directly is fine too: the simulation collects a node's
// outputs again before it runs (or call Collect(i) at once).
//
// Partitions: Partition(groups) cuts every link between different groups; nodes not listed in
// any group (including nodes added later) form one more group together. Frames cross a link
// only if it is up both when they are sent and when they arrive; a cut link refuses new
// connections but does not close those that exist (as TCP does not notice at once).
//
// Thread safety: none; one thread drives a Simulation. Ownership: the Simulation owns its
// nodes; node(i) references stay valid until node i crashes, restarts or is removed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convergent/crdt/crdt_type.h"
#include "convergent/node_options.h"
#include "convergent/replicator.h"
#include "convergent/replicator_options.h"
#include "convergent/status.h"

namespace convergent {

namespace sim {
class SimSnapshotStore;
}

struct SimulationOptions {
  // Nodes at the start (ids 0..nodes-1); ignored with datacenters.
  int nodes = 3;
  // Datacenters: names and node counts, in order (empty: one cluster without datacenters).
  std::vector<std::pair<std::string, int>> datacenters;
  // Which members of the other datacenters a node has as remote seeds (empty: all of them), as a
  // deployment that names only some: remote_seed(node, member).
  std::function<bool(NodeId, NodeId)> remote_seed;
  // Seeds the one random source of the simulation.
  uint64_t seed = 0;
  // The options of every node's Replicator.
  ReplicatorOptions replicator;
  // Seconds: the mean one-way delay of a frame.
  double latency = 0.001;
  // Seconds: each frame's delay is latency plus a uniform draw in [-jitter, +jitter] (never below
  // zero), so frames on one link can overtake each other.
  double jitter = 0.0;
  // Probability that a frame is lost on its link, in [0, 1).
  double loss = 0.0;
  // Probability that a delivered frame arrives a second time (with its own delay), in [0, 1).
  double duplication = 0.0;
  // The options of every node as a real node's (membership, failure detection, min_members,
  // downing, back-pressure, frame size and queues, snapshots: a non-empty snapshot_dir turns on
  // the simulated store). The simulation sets id, name, listen and seeds, and `replicator`
  // above replaces node.replicator.
  NodeOptions node = DefaultNodeOptions();
  // Seconds a receiver takes per bus frame: a bus connection's queue drains at this pace.
  double frame_cost = 20e-6;
  // Seconds between a refused or broken bus dial and the next attempt (NNG's reconnect time).
  double reconnect_interval = 0.1;

  // The node defaults of a simulation: a real node's, with frames of up to 4 MiB.
  static NodeOptions DefaultNodeOptions();

  Status Validate() const;
};

class Simulation {
 public:
  // Validates the options (and the Replicator's) first.
  static Result<std::unique_ptr<Simulation>> Create(SimulationOptions options);
  // The options must be valid (Create checks them); invalid options abort.
  explicit Simulation(SimulationOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // ---- nodes ----
  // The Replicator of a live node (a crashed, removed or unknown node aborts: check IsLive).
  Replicator& node(NodeId id);
  bool IsLive(NodeId id) const;    // a member that is up
  bool IsMember(NodeId id) const;  // up or crashed, not removed
  std::vector<NodeId> live_nodes() const;
  std::vector<NodeId> members() const;
  // The node's incarnation: 0 at first, one more at every restart (and at its removal).
  uint64_t incarnation(NodeId id) const;
  // Whether a live node is ready: it has heard from every seed and min_members are reachable.
  bool Ready(NodeId id) const;
  // A live node's metrics, as a real node reports them (replicator, transport, membership,
  // snapshots); empty for a node that is not live.
  std::map<std::string, double> NodeMetrics(NodeId id) const;
  // Runs until every live node is ready and reaches every other live node it is connected to;
  // false when `timeout_seconds` passed first.
  bool RunUntilFormed(double timeout_seconds = 30.0);

  // Crash, Restart and RemoveNode take a member (another id aborts: check IsMember).
  // The node's Replicator is destroyed (its memory is lost) and frames on their way to it are
  // dropped. It stays a member. Crashing a node that is down does nothing.
  void Crash(NodeId id);
  // Starts a new incarnation (fresh ReplicaId; its snapshot restored when the nodes have
  // snapshots, else an empty store) of a member node; a live node is crashed first.
  Replicator& Restart(NodeId id);
  // A new live member with the next id (in the first datacenter, when there are datacenters).
  NodeId AddNode();
  // A new live member of `datacenter` (InvalidArgument for an unknown one).
  Result<NodeId> AddNode(const std::string& datacenter);

  // ---- datacenters ----
  // The names, in order (empty without datacenters).
  std::vector<std::string> Datacenters() const;
  // A node's datacenter ("" without datacenters, or for an unknown node).
  std::string DatacenterOf(NodeId id) const;
  // The members (up or crashed) of a datacenter, ascending; empty for an unknown one.
  std::vector<NodeId> MembersOf(const std::string& datacenter) const;
  // The latency of every link between the two datacenters' nodes (per-link settings still win).
  Status SetDatacenterLatency(const std::string& a, const std::string& b, double mean,
                              double jitter = 0.0);
  // The node leaves the membership for good: it says goodbye (its peers drop it when that frame
  // arrives) and its Replicator is destroyed.
  void RemoveNode(NodeId id);

  // A writer replica other than the node's own that wrote through it retires (Node::RetireWriter):
  // InvalidArgument for a node that is not live.
  Status RetireWriter(NodeId id, ReplicaId writer);

  // ---- faults of a node's own ----
  // Steps the node's wall clock by `seconds` (either way; it adds up). Timers do not move.
  Status SkewClock(NodeId id, double seconds);
  TimeMicros WallMicros(NodeId id) const;
  // The node's snapshot store when the nodes have snapshots (node.snapshot_dir), else nullptr
  // (the internal sim/sim_env.h declares it; the faults below need only this header).
  sim::SimSnapshotStore* SnapshotStoreOf(NodeId id);
  // Snapshot faults (InvalidArgument for an unknown node or a simulation without snapshots):
  // while `fail` is set, every write of the node's snapshot fails (counted, retried);
  Status FailSnapshotWrites(NodeId id, bool fail);
  // damages the record of `key` (false: the node has none), or, with nullopt, the whole store,
  // found as a checksum finds damage (the node restarts from what it can read);
  Result<bool> CorruptSnapshot(NodeId id, const std::optional<std::string>& key);
  // undoes the last write, as a crash before it reached the disk (between Crash and Restart).
  Status LoseLastSnapshotWrite(NodeId id);

  // ---- local requests (InvalidArgument when the node is not live) ----
  // Runs `request` on the node's Replicator at the current virtual time, sends what it produced
  // and tracks the request it returns (for Await). Update, Delete and Read are shorthands.
  using RequestFn = std::function<Result<RequestId>(Replicator&, TimeMicros now)>;
  Result<RequestId> Request(NodeId id, const RequestFn& request);
  Result<RequestId> Update(NodeId id, std::string_view key, CrdtType type,
                           const Replicator::Mutation& mutate,
                           Consistency level = Consistency::kLocal,
                           std::optional<double> timeout = std::nullopt);
  Result<RequestId> Delete(NodeId id, std::string_view key, CrdtType type,
                           Consistency level = Consistency::kLocal,
                           std::optional<double> timeout = std::nullopt);
  Result<RequestId> Read(NodeId id, std::string_view key, CrdtType type,
                         Consistency level = Consistency::kLocal,
                         std::optional<double> timeout = std::nullopt);
  // Runs the simulation until the request completes (ok, kTimeout, or a peer's error) and
  // returns its completion; id 0 completes at once. InvalidArgument for a request the node does
  // not have pending, or when the node crashes (or is removed) before it completes.
  Result<Completion> Await(NodeId id, RequestId request);
  // The completions of the node's requests that arrived and were not awaited, oldest first.
  std::vector<Completion> TakeCompletions(NodeId id);
  // The node's change events (all its incarnations), oldest first.
  std::vector<ReplicaEvent> TakeEvents(NodeId id);
  // Sends the frames, keeps the events and completions, and sets the timer of a live node after
  // it was called directly through node(id).
  void Collect(NodeId id);

  // ---- time ----
  TimeMicros now() const;
  double now_seconds() const;
  // Processes every event due in the next `seconds` of virtual time.
  void RunFor(double seconds);
  // Runs until Converged(); returns the virtual seconds it took (0 when already converged), or
  // nullopt when `timeout_seconds` passed first (the clock then stands at the timeout).
  std::optional<double> RunUntilConverged(double timeout_seconds);
  // Every group of live nodes that can reach each other (the same partition group) holds equal
  // stores (equal StoreDigest()).
  bool Converged();

  // ---- network ----
  // InvalidArgument for an unknown node or a node listed twice (nothing changes then).
  Status Partition(const std::vector<std::vector<NodeId>>& groups);
  void Heal();  // removes the partition (per-link settings stay)
  Status SetLoss(double p);
  Status SetLatency(double mean, double jitter = 0.0);
  Status SetDuplication(double p);
  // Per-link settings (both directions) override the defaults above; a link's loss may be 1
  // (a cut link). `one_way`: the loss of frames from a to b only (b to a keeps its own), as a
  // link that fails in one direction: connections stay up, frames one way vanish.
  Status SetLinkLoss(NodeId a, NodeId b, double p, bool one_way = false);
  Status SetLinkLatency(NodeId a, NodeId b, double mean, double jitter = 0.0);
  void ResetLinks();  // drops every per-link setting

  // ---- observation ----
  // Called with each completion the moment its node's replicator produces it (before anything
  // else happens in the simulation), e.g. to check that an acknowledged write is on enough
  // replicas right then. Empty: none.
  void ObserveCompletions(std::function<void(NodeId, const Completion&)> observer);

  // A hash of every delivered frame (time, sender, receiver, kind, size, bytes) in order.
  uint64_t TraceHash() const;
  // When on, every delivered frame is also recorded as a line "t_us from->to kind size".
  void RecordTrace(bool on);
  const std::vector<std::string>& trace() const;
  struct NetworkStats {
    uint64_t sent = 0;  // frame copies put on a link (a broadcast counts once per peer)
    uint64_t delivered = 0;
    uint64_t lost = 0;     // by loss
    uint64_t cut = 0;      // by a partition
    uint64_t to_down = 0;  // to a crashed or removed node
    uint64_t duplicated = 0;
    uint64_t bytes_delivered = 0;
    uint64_t queue_dropped = 0;        // bus frames dropped by a full connection queue
    uint64_t oversized = 0;            // above the receiver's max_frame_size
    uint64_t connections_made = 0;     // bus connections formed
    uint64_t connections_refused = 0;  // dial attempts that failed (down, cut off)
  };
  const NetworkStats& network_stats() const;
  // The same counters for the frames between two datacenters (both ways); zeros for unknown
  // names or a datacenter with itself.
  NetworkStats NetworkStatsBetween(const std::string& a, const std::string& b) const;
  // The same counters for the frames between two groups of nodes (both ways), for instance the
  // two halves of a cluster without datacenters.
  NetworkStats NetworkStatsBetween(const std::vector<NodeId>& a,
                                   const std::vector<NodeId>& b) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convergent
