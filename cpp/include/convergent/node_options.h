// NodeOptions: every tunable of a node (membership, failure detection, snapshots, back-pressure,
// metrics), with its default; MemberView: one member as a node sees it. Times are seconds.
//
// Thread safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "convergent/replicator_options.h"
#include "convergent/status.h"
#include "convergent/transport.h"

namespace convergent {

struct NodeOptions {
  // The node's name (its id is a hash of it; stable across restarts). Empty: the URL the bus
  // listens on (with the port the system picked, for tcp://host:0).
  std::string name;
  // The node's id; unset: a hash of its name. (The simulator numbers its nodes 0, 1, ...)
  std::optional<NodeId> id;
  // Where the node listens (see TransportOptions: listen, p2p_listen, TLS files, frame size).
  TransportOptions transport;
  // Bus URLs of other members to dial (this node's own URL is skipped). A tcp:// or tls+tcp://
  // seed whose host is a DNS name stands for every address the name resolves to (a Kubernetes
  // headless service), resolved again every seed_resolve_interval. Until a seed has been heard
  // from it counts as one replica toward N of Majority/All (see min_members), and the node is
  // not ready.
  std::vector<std::string> seeds;
  // Multiple datacenters (docs/concepts.md): this node's datacenter (empty: none), and bus URLs
  // of members of the other datacenters, by datacenter (DNS names as for `seeds`). Inside a
  // datacenter nodes form a cluster as without datacenters (`seeds` name members of this one);
  // between datacenters only each datacenter's gateway talks.
  std::string datacenter;
  std::map<std::string, std::vector<std::string>> remote_seeds;
  // Majority/All count N = max(min_members, 1 + the members known + the seeds not heard from
  // yet) replicas (Akka's minCap); the node is ready once it has met every seed and
  // min_members replicas (itself included) are reachable.
  size_t min_members = 1;
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
  std::string datacenter;  // empty: no datacenters
};

}  // namespace convergent
