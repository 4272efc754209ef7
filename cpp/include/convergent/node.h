// Node: one member of a real cluster. It wires a Replicator to a Transport (NNG) and owns the
// only threads of the library: one loop thread that receives frames, runs the timers (delta
// flush, anti-entropy, pruning, heartbeats, failure detection) and sends what the Replicator
// produces. Transport callbacks only queue frames for that loop; they never run replication
// logic (or user code).
//
// Membership: the node dials its seeds, broadcasts heartbeats (itself and the members it knows),
// so members discover each other from one seed; a member silent for `failure_timeout` is
// unreachable until it is heard again, and is downed (no longer a member) after `down_after`;
// the leader is the reachable member (of the role) with the smallest id. Roles: only members of the
// same role replicate with each other.
//
// Back-pressure: bus frames are numbered per sender; receivers count the gaps, repair them by an
// early anti-entropy round with the sender, and report them in their heartbeats, and a sender
// told of losses makes fewer, larger delta batches (max_delta_flush_interval).
//
// Snapshots (snapshot_dir): see NodeOptions. After kill -9 the node loses at most the changes
// of the last snapshot_interval, which its peers still hold.
//
// Thread safety: every public method may be called from any thread. Local requests (Run,
// Request) take the node's lock for the duration of the call; Await and WaitEvents block
// without holding it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convergent/ids.h"
#include "convergent/replicator.h"
#include "convergent/replicator_options.h"
#include "convergent/status.h"
#include "convergent/transport.h"

namespace convergent {

struct NodeOptions {
  // The node's name (its id is a hash of it; stable across restarts). Empty: the URL the bus
  // listens on (with the port the system picked, for tcp://host:0).
  std::string name;
  // Where the node listens (see TransportOptions: listen, p2p_listen, TLS files, frame size).
  TransportOptions transport;
  // Bus URLs of other members to dial (this node's own URL is skipped). A tcp:// or tls+tcp://
  // seed whose host is a DNS name stands for every address the name resolves to (a Kubernetes
  // headless service), resolved again every seed_resolve_interval.
  std::vector<std::string> seeds;
  // Seconds between resolutions of DNS seeds.
  double seed_resolve_interval = 5.0;
  // The Replicator's options (role included).
  ReplicatorOptions replicator;
  // Seconds between heartbeats.
  double heartbeat_interval = 0.5;
  // Seconds without a heartbeat after which a member is unreachable.
  double failure_timeout = 3.0;
  // Seconds without a heartbeat after which a member is downed (Akka's auto-downing): removed
  // from the members, so no longer a peer and no longer counted by Majority/All (a member that
  // died without a goodbye would otherwise make every All request time out, forever). If it
  // comes back it rejoins as any member does. 0: never. A member is never downed before it is
  // unreachable (failure_timeout), however small this is. The price:
  // during a partition longer than this, each side counts only itself, so a Majority on each
  // side succeeds; choose 0 where quorums must hold across long partitions.
  // Off by default, as Akka has no automatic downing by default: opt in where availability of
  // ALL matters more than quorums across long partitions.
  double down_after = 0.0;
  // The LevelDB directory of the node's snapshots (empty: no snapshots). At start the snapshot
  // is restored before the node takes part in anti-entropy; a corrupt or unreadable one is
  // reported (stderr, metric convergent.snapshot.corrupt) and the node starts empty and
  // rebuilds from its peers, never half-restored.
  std::string snapshot_dir;
  // Seconds between snapshots: each writes only the keys and tombstones changed since the
  // last, in one batch; a graceful stop writes a final one.
  double snapshot_interval = 1.0;
  // Back-pressure: seconds between delta flushes at most. When peers report bus frames of this
  // node lost (NNG drops silently when a connection's queue is full), the node flushes less
  // often, up to this interval, so that it sends fewer, larger delta batches; the interval
  // returns to replicator.delta_flush_interval while nothing is lost. Anti-entropy repairs what
  // was lost. Not below replicator.delta_flush_interval: a smaller value means the interval
  // never grows.
  double max_delta_flush_interval = 1.0;
  // Where to serve the metrics over HTTP in the Prometheus text format (GET /metrics), e.g.
  // http://0.0.0.0:9100 (port 0: a free port); empty: not served.
  std::string metrics_listen;
  // For tests: given the transport the node made, returns the one it uses (e.g. a wrapper that
  // loses frames). Empty: the transport as made.
  std::function<std::unique_ptr<Transport>(std::unique_ptr<Transport>)> wrap_transport;

  Status Validate() const;
};

struct MemberView {
  NodeId id = 0;
  std::string name;
  std::string bus_url;
  std::string role;
  bool reachable = false;
  bool self = false;
};

class Node {
 public:
  // Validates the options, listens, and starts the loop. Errors: bad options, a URL that cannot
  // be listened on, unreadable TLS files.
  static Result<std::unique_ptr<Node>> Start(NodeOptions options);
  ~Node();  // Stop(true)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops the loop and closes the transport. `graceful`: first tells the peers it is leaving
  // and flushes pending deltas. Idempotent.
  void Stop(bool graceful = true);
  bool running() const;  // lock-free

  NodeId id() const;
  ReplicaId replica_id() const;  // fresh at every start
  const std::string& name() const;
  const std::string& bus_url() const;
  const std::string& p2p_url() const;
  // http://host:port/metrics when metrics_listen is set, else empty.
  const std::string& metrics_url() const;

  // Runs `op` on the Replicator under the node's lock, with the node's clock, then sends what it
  // produced. InvalidArgument once the node is stopped.
  Status Run(const std::function<void(Replicator&, TimeMicros now)>& op);
  using RequestFn = std::function<Result<RequestId>(Replicator&, TimeMicros now)>;
  Result<RequestId> Request(const RequestFn& op);
  // Blocks until the request completes; InvalidArgument if the node stops first.
  Result<Completion> Await(RequestId request);
  // The change events so far, waiting up to `timeout_seconds` for the first one.
  std::vector<ReplicaEvent> WaitEvents(double timeout_seconds);
  // Whether change events are waiting (lock-free: a caller can skip WaitEvents(0) when not).
  bool has_events() const;

  std::vector<MemberView> Members() const;
  NodeId Leader() const;
  // Replicator metrics plus the transport's (convergent.transport.*) and membership figures.
  std::map<std::string, double> Metrics() const;
  uint64_t StoreDigest();

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convergent
