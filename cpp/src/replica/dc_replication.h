// DcReplication: what a replicator sends to other datacenters and what it spreads from them
// (docs/concepts.md, "Multiple datacenters").
//
// Every replica of a datacenter buffers the changes made in its datacenter (its own updates and
// deletes, and what its datacenter's peers sent it), one delta per key, and cuts the buffer into
// numbered batches every dc_replication_interval, queued per other datacenter. Only the gateway
// (its datacenter's leader) sends them: each batch once to one node of each other datacenter (the
// target the node core chose), again after dc_send_timeout until that datacenter acknowledges it,
// and again at once when the target changes. The others keep their batches as a standby: the
// gateway tells them in its heartbeats how old the changes are that each datacenter has
// acknowledged, and they drop their batches that old (plus a margin for the time a change takes
// inside the datacenter); a replica that becomes the gateway sends what it still holds.
//
// A datacenter's queue is bounded by max_dc_buffer_bytes; past it, or when the datacenter has had
// no target for dc_anti_entropy_interval, the queue is dropped (counted once) and an anti-entropy
// round with that datacenter repairs instead (nothing is queued for it until it has a target).
// The gateway also starts such a round with each datacenter every dc_anti_entropy_interval, as
// soon as a datacenter is reachable again, and when it becomes the gateway (TakeSyncs).
//
// A key a peer's anti-entropy repair changed here goes into the next batch whole: this replica
// cannot tell its datacenter's changes (a lost delta) from another datacenter's (a lost relay).
//
// Changes that come from another datacenter (its batches, its repairs) are not buffered: the node
// that received them relays them to its own peers (Relay, then a DeltaBatch marked relayed), and
// what is relayed is never sent to a third datacenter (each sends its own).
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "convergent/replicator.h"
#include "replica/key_store.h"
#include "replica/messages.h"

namespace convergent::internal {

// What DcReplication needs of its replicator.
class DcHost {
 public:
  virtual ~DcHost() = default;
  virtual void SendTo(NodeId peer, FrameBody body) = 0;
  virtual void BroadcastToPeers(FrameBody body) = 0;
  virtual KeyedState FullState(const std::string& name, const KeyEntry& e) const = 0;
};

class DcReplication {
 public:
  DcReplication(DcHost& host, KeyStore& store, const ReplicatorOptions& options,
                ReplicatorMetrics& metrics);

  // The node core's view: this replica's datacenter, the others, and whether this replica is
  // the gateway. A datacenter whose target changed is sent its queue again at the next Tick.
  void Configure(std::string self, std::vector<RemoteDatacenter> remotes, bool gateway,
                 TimeMicros now);
  // There are other datacenters: changes are buffered.
  bool enabled() const { return !remotes_.empty(); }
  const std::string& datacenter() const { return self_; }
  bool gateway() const { return gateway_; }
  // A member of another datacenter (of this replica's role): its datacenter frames are taken.
  bool IsRemoteMember(NodeId node) const { return remote_members_.count(node) != 0; }
  const std::set<NodeId>& remote_members() const { return remote_members_; }
  // Each other datacenter and its target now; the datacenter of a member of another ("" else).
  std::vector<std::pair<std::string, std::optional<NodeId>>> Targets() const;
  std::string DatacenterOfMember(NodeId node) const;

  // ---- changes made in this datacenter ----
  // A delta of key `name` (joined into the key's buffered delta; `encoded_size` 0: unknown),
  // at wall time `wall`.
  void Add(const std::string& name, const AnyCrdt& delta, size_t encoded_size, TimeMicros wall);
  // The key changed by a full state (a large one, a repair): its full state goes, as it is at
  // the cut.
  void AddWhole(const std::string& name, size_t encoded_size, TimeMicros wall);
  void AddTombstone(const std::string& name, TimeMicros wall);

  // ---- changes from another datacenter, to spread here ----
  void Relay(const KeyedState& s);
  void RelayWhole(const std::string& name);
  void Relay(const Tombstone& t);

  // ---- timers ----
  // Cuts the buffer into batches when due, sends (the gateway), relays, drops queues.
  void Tick(TimeMicros now);
  TimeMicros NextDeadline() const;
  // The targets of the datacenters an anti-entropy round is due with (the gateway only).
  std::vector<NodeId> TakeSyncs(TimeMicros now);

  // ---- frames ----
  // A batch of `size` bytes was applied (the replicator merged it): acknowledges it and notes
  // its lag.
  void Applied(NodeId from, const DcBatchMsg& m, size_t size, TimeMicros wall);
  void OnAck(NodeId from, const DcAckMsg& m);

  // ---- the standby ----
  // The gateway: per other datacenter, how long ago the newest change reached this buffer that
  // the datacenter is known to hold (acknowledged, or repaired after a drop); nullopt when there
  // is nothing to tell (not the gateway).
  std::vector<std::pair<std::string, TimeMicros>> AckedAges(TimeMicros now) const;
  // A follower: drops the batches the gateway's datacenters hold (AckedAges of the gateway).
  void Trim(const std::vector<std::pair<std::string, TimeMicros>>& acked, TimeMicros now);

  // ---- observation ----
  void AddMetrics(std::map<std::string, double>& m, TimeMicros wall) const;
  size_t buffered_bytes() const;

 private:
  struct Pending {
    std::optional<AnyCrdt> delta;  // nullopt: whole (or a tombstone)
    bool tombstone = false;
  };
  struct Batch {
    uint64_t seq = 0;
    TimeMicros created = 0;   // this replica's monotonic clock, at the cut
    TimeMicros prev_cut = 0;  // the cut before: its changes came after that
    DcBatchMsg body;
    size_t bytes = 0;
  };
  struct Queued {
    std::shared_ptr<const Batch> batch;
    TimeMicros sent = 0;  // 0: not sent (to the current target)
  };
  struct Remote {
    std::vector<NodeId> members;
    std::optional<NodeId> target;
    std::deque<Queued> queue;
    size_t bytes = 0;
    TimeMicros unreachable_since = 0;  // 0: has a target
    bool needs_sync = true;            // an anti-entropy round is due (first contact, a drop)
    TimeMicros next_sync = 0;
    // Observation
    uint64_t batches_sent = 0, bytes_sent = 0, batches_received = 0, bytes_received = 0;
    uint64_t dropped = 0;
    TimeMicros last_received_wall = 0;
    TimeMicros last_lag = 0;
  };

  void Cut(TimeMicros now);
  void Send(Remote& r, TimeMicros now);
  void Drop(Remote& r);
  void FlushRelay();

  DcHost& host_;
  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::string self_;
  bool gateway_ = false;
  std::map<std::string, Remote> remotes_;
  std::set<NodeId> remote_members_;
  std::map<std::string, Pending> pending_;
  size_t pending_bytes_ = 0;
  TimeMicros pending_since_wall_ = 0;  // when the oldest pending change came (0: none)
  TimeMicros next_cut_ = 0;
  TimeMicros last_cut_ = 0;  // 0: none yet
  uint64_t next_seq_ = 1;
  // Relayed from another datacenter, to broadcast at the next Tick.
  std::vector<KeyedState> relay_entries_;
  std::set<std::string> relay_whole_;
  std::vector<Tombstone> relay_tombstones_;
  uint64_t stale_skips_ = 0;  // batches due to a datacenter that had no target
  uint64_t syncs_ = 0;
};

}  // namespace convergent::internal
