// Node: one member of a real cluster: the shell that runs the node core (cpp/src/node/
// node_core.h: membership, formation, loss detection, pacing, snapshots, around a Replicator)
// on NNG, LevelDB and the real clocks, through an Env (Env::Default()). It owns the only threads
// of the library: one loop thread that receives frames and runs the core's timers. Transport
// callbacks only queue frames for that loop; they never run replication logic (or user code).
// Every decision is the core's, so the simulator makes the same ones.
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

#include "convergent/env.h"
#include "convergent/ids.h"
#include "convergent/node_options.h"
#include "convergent/replicator.h"
#include "convergent/status.h"

namespace convergent {

class Node {
 public:
  // Validates the options, listens, and starts the loop. Errors: bad options, a URL that cannot
  // be listened on, unreadable TLS files. `env`: the clocks, logger and factories (it must
  // outlive the node).
  static Result<std::unique_ptr<Node>> Start(NodeOptions options, Env& env = Env::Default());
  ~Node();  // Stop(true)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops the loop and closes the transport. `graceful`: first tells the peers it is leaving
  // and flushes pending deltas. Idempotent.
  void Stop(bool graceful = true);
  // For tests and chaos runs: steps this node's wall clock (LWW timestamps, tombstone ages, key
  // expiry) by `seconds`, either way, as an operator or NTP stepping the machine's clock would.
  // Timers run on the monotonic clock and are not affected. Thread-safe.
  void StepWallClock(double seconds);
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

  // Ready: every seed heard from and min_members replicas reachable (NodeOptions::min_members).
  bool ready() const;
  // Waits up to `timeout_seconds` until ready: Ok, or kTimeout saying what is missing
  // (InvalidArgument once stopped).
  Status WaitReady(double timeout_seconds);

  // A writer replica other than the node's own that wrote through this node and never will
  // again (the handle of another process, which writes as a replica of its own, once closed):
  // removed on every member like an earlier incarnation, so its slots and dots are pruned
  // (docs/concepts.md, "Removed replicas"). Frames of a node's own replica are not affected.
  void RetireWriter(ReplicaId writer);
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
