// Replicator: the replication state machine of one node. It holds the node's typed keys, applies
// local updates and remote deltas, buffers and batches deltas, runs anti-entropy, coordinates
// Majority/All writes and reads, keeps tombstones, and reports changes to subscribers.
//
// It is sans-I/O: time, randomness (a seed), membership and incoming frames are inputs; frames to
// send, change events and request completions are outputs taken with Take*(). The same code runs
// in the deterministic simulator and in a real node. Nothing from outside crashes it: a frame
// that fails to decode or names a key with another type is dropped and counted.
//
// Thread safety: none. One owner thread calls everything (the node's loop or the simulator).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convergent/crdt/any_crdt.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/ids.h"
#include "convergent/replicator_options.h"
#include "convergent/status.h"

namespace convergent {

using NodeId = uint64_t;     // a node's address in the cluster, stable across its restarts
using TimeMicros = int64_t;  // microseconds of the driver's clock (virtual in the simulator)
// Seconds (as options give them) in microseconds, truncated.
inline TimeMicros MicrosOf(double seconds) { return static_cast<TimeMicros>(seconds * 1e6); }
using RequestId = uint64_t;  // a coordinated request; 0 means "already complete"

// How many replicas (self included) a write must be applied on, or a read answered by, before
// it completes: this one only (kLocal), floor(N/2)+1 of the N replicas (kMajority), all N
// (kAll), or exactly n (To(n); n > N times out). N counts the replicas of this node's
// datacenter. With datacenters, kDcMajority is a majority of this datacenter's replicas and a
// majority of the replicas of each of a majority of all datacenters (this one counted), and
// kDcAll a majority of the replicas of every datacenter; without, both are kMajority. A value
// type: compare with ==.
class Consistency {
 public:
  enum class Kind : uint8_t { kLocal, kMajority, kAll, kCount, kDcMajority, kDcAll };
  static const Consistency kLocal;
  static const Consistency kMajority;
  static const Consistency kAll;
  static const Consistency kDcMajority;
  static const Consistency kDcAll;
  // n replicas, self included (n >= 1; To(1) is kLocal).
  static constexpr Consistency To(uint32_t n) { return Consistency(Kind::kCount, n); }
  // A majority of at least `min_cap` replicas, plus `plus` more, never more than N (Akka's
  // WriteMajorityPlus and minCap): max(floor(N/2)+1, min_cap) + plus, capped at N.
  static constexpr Consistency Majority(uint32_t plus, uint32_t min_cap) {
    return Consistency(Kind::kMajority, 0, plus, min_cap);
  }

  constexpr Kind kind() const { return kind_; }
  constexpr uint32_t count() const { return count_; }      // To(n): n; else 0
  constexpr uint32_t plus() const { return plus_; }        // Majority: the additional replicas
  constexpr uint32_t min_cap() const { return min_cap_; }  // Majority: its least size
  friend constexpr bool operator==(Consistency, Consistency) = default;

 private:
  constexpr Consistency(Kind kind, uint32_t count, uint32_t plus = 0, uint32_t min_cap = 0)
      : kind_(kind), count_(count), plus_(plus), min_cap_(min_cap) {}
  Kind kind_;
  uint32_t count_;
  uint32_t plus_;
  uint32_t min_cap_;
};
inline constexpr Consistency Consistency::kLocal{Kind::kLocal, 0};
inline constexpr Consistency Consistency::kMajority{Kind::kMajority, 0};
inline constexpr Consistency Consistency::kAll{Kind::kAll, 0};
inline constexpr Consistency Consistency::kDcMajority{Kind::kDcMajority, 0};
inline constexpr Consistency Consistency::kDcAll{Kind::kDcAll, 0};

enum class FrameKind : int {
  kDeltaBatch,
  kWrite,
  kWriteAck,
  kRead,
  kReadReply,
  kDigestStep,
  kKeyDigests,
  kRepair,
  kFragment,  // a piece of a frame larger than max_frame_size
  kDcBatch,   // a gateway's batch of its datacenter's changes, to another datacenter
  kDcAck,
};
inline constexpr int kFrameKinds = 11;
const char* FrameKindName(FrameKind k);

struct OutgoingFrame {
  std::optional<NodeId> to;  // nullopt: to every peer (delta batches)
  FrameKind kind;
  std::string bytes;
};

struct ReplicaEvent {
  // kExpired: the key went after expire_keys_after_inactivity without an update.
  enum class Kind { kChanged, kDeleted, kExpired };
  Kind kind;
  std::string key;
  CrdtType type;
  AnyCrdt value;  // the new value (kChanged)
};

struct Completion {
  RequestId id = 0;
  Status status;                 // ok, kTimeout, or the error of a peer
  std::optional<AnyCrdt> value;  // reads: the merged value (nullopt: absent or deleted)
  bool deleted = false;          // reads: the key is deleted
};

// Counters with the seed system's names (see metrics() for the full list).
struct ReplicatorMetrics {
  uint64_t merge_count = 0;          // remote states/deltas joined into the store
  uint64_t delta_publish_count = 0;  // key deltas sent
  uint64_t delta_receive_count = 0;  // key deltas received
  uint64_t coordinated_write_count = 0;
  uint64_t coordinated_read_count = 0;
  uint64_t antientropy_count = 0;  // rounds started
  uint64_t loss_repair_count = 0;  // of which started because frames from the peer were lost
  uint64_t meeting_count = 0;      // of which started because the peer was just met (SyncWith)
  // Keys repaired by anti-entropy: with the part the peer lacked (from its causal context), and
  // with their whole state.
  uint64_t repairs_partial = 0;
  uint64_t repairs_whole = 0;
  uint64_t frames_malformed = 0;     // dropped: did not decode
  uint64_t entries_mistyped = 0;     // dropped: a key of another type than ours
  uint64_t frames_foreign = 0;       // dropped: from a node that is not a peer (another role)
  uint64_t frames_from_removed = 0;  // dropped: from a replica pruned or being pruned
  uint64_t prunings_started = 0;     // keys this node (the leader) started pruning a replica of
  uint64_t prunings_performed = 0;   // keys this node pruned a replica from
  // Large full states not decoded: the key held the same already (a second peer's repair).
  uint64_t states_held = 0;
  // Tombstones (replica/tombstone_collector.h): collected here; arriving after they were
  // collected here (ignored).
  uint64_t tombstones_collected = 0;
  uint64_t tombstones_collected_ignored = 0;
  // Key states refused from a replica that missed collected deletes (or, by a store that started
  // empty, from one restored from a snapshot that has not heard every member yet).
  uint64_t entries_from_stale = 0;
  // Peers' coordinated writes and reads left unanswered (the peer resends) while this replica,
  // restored from a snapshot, had not yet heard every member: it may have missed collected
  // deletes and set keys aside once it learns it.
  uint64_t coordinated_deferred = 0;
  // Key states not repaired into a peer that started empty and has not heard every member (it
  // takes any floor without setting keys aside) while this replica, restored from a snapshot,
  // had not heard every member either.
  uint64_t entries_withheld = 0;
  // This replica missed collected deletes: catch-ups, keys set aside, taken back because a
  // peer still held them, dropped because none did; and floors adopted from a peer that also
  // missed this replica's collected deletes (a split brain: keys kept).
  uint64_t stale_catch_ups = 0;
  uint64_t keys_quarantined = 0;
  uint64_t keys_unquarantined = 0;
  uint64_t keys_dropped_stale = 0;
  uint64_t deletes_split_brain = 0;
  // Deletes of gone replicas that no member had seen (lost with their replica), passed over so
  // that the replica's later deletes can be collected.
  uint64_t deletes_lost = 0;
  // Delete adverts that left out retired entries of a set this replica does not have (ignored
  // until the sets agree: replica/retired_deletes.h).
  uint64_t delete_adverts_unreadable = 0;
  // Snapshots restored too old to trust as they were (replica/stale_restore.h, at most one per
  // replicator): their keys set aside, taken back against the peers' states, taken back whole
  // (no peer held them), and the replicas the copies forgot (once per key).
  uint64_t stale_snapshots = 0;
  uint64_t stale_snapshot_keys = 0;
  uint64_t stale_snapshot_keys_cleaned = 0;
  uint64_t stale_snapshot_keys_whole = 0;
  uint64_t stale_snapshot_replicas_forgotten = 0;
  // Keys expired here (expire_keys_after_inactivity), and states of keys not held here that
  // arrived already expired (dropped).
  uint64_t keys_expired = 0;
  uint64_t entries_expired = 0;
  // Frames larger than max_frame_size sent in pieces; such frames lost (a piece lost, not joined
  // within 30 s, or beyond max_reassembly_bytes); keys whose full state passed
  // log_data_size_exceeding (each reported once), and the largest such state.
  uint64_t frames_fragmented = 0;
  uint64_t fragmented_dropped = 0;
  uint64_t keys_large = 0;
  uint64_t large_repairs_deferred = 0;  // a large key not repaired: its last copy is on its way
  uint64_t largest_state = 0;
  // Multiple datacenters: batches sent (the gateway) and received, and queues dropped.
  uint64_t dc_batches_sent = 0;
  uint64_t dc_batches_received = 0;
  uint64_t dc_buffers_dropped = 0;
  uint64_t bytes_sent[kFrameKinds] = {};
  uint64_t bytes_received[kFrameKinds] = {};
  uint64_t frames_sent[kFrameKinds] = {};
  uint64_t frames_received[kFrameKinds] = {};
};

// Another datacenter as the node core sees it (replica/dc_replication.h).
struct RemoteDatacenter {
  std::string name;
  std::vector<NodeId> members;   // its members of this replica's role: their frames are taken
  std::optional<NodeId> target;  // the member this datacenter sends to now (nullopt: none)
};

class Replicator {
 public:
  // `self` addresses this node; `replica` must be fresh for every incarnation (a restarted node
  // never reuses the dots of its previous life). `seed` drives the choice of anti-entropy peers.
  Replicator(NodeId self, ReplicaId replica, ReplicatorOptions options, uint64_t seed);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  NodeId node_id() const;
  ReplicaId replica_id() const;
  const ReplicatorOptions& options() const;

  // Membership: the other nodes this one replicates with (same role), self excluded. Frames
  // from any other node are dropped (and counted as foreign).
  void SetPeers(std::vector<NodeId> peers);
  const std::vector<NodeId>& peers() const;
  // N, the replicas Majority/All count (self included): max(n, peers + 1). A node that has not
  // met every member yet counts those it was told of (see NodeOptions::seeds, min_members).
  // Requests running when a peer joins ask it too.
  void SetReplicaCount(size_t n);
  // Removed-replica pruning (docs/concepts.md): the replica ids of the current members, self
  // included (until set, nothing is pruned); whether this node starts prunings (the leader of
  // its role); and a replica gone for good (an earlier incarnation of a member, or a member that
  // left): its frames are dropped from now on, and its slots and dots are collapsed in every key.
  void SetMemberReplicas(std::vector<ReplicaId> replicas);
  void SetPruningLeader(bool leader);
  void RemoveReplica(ReplicaId removed, TimeMicros now);
  size_t replica_count() const;
  // Multiple datacenters (replica/dc_replication.h): this replica's datacenter (empty: none),
  // the other datacenters, and whether this replica is its datacenter's gateway (it sends the
  // batches and runs the anti-entropy rounds with the other datacenters).
  void SetDatacenters(std::string self, std::vector<RemoteDatacenter> remotes, bool gateway,
                      TimeMicros now);
  const std::string& datacenter() const;
  // The gateway's word to its datacenter: per other datacenter, how long ago (microseconds of
  // its clock) the newest change reached its buffer that the datacenter holds; the others trim
  // their standby batches with it. Empty on a replica that is not the gateway.
  std::vector<std::pair<std::string, TimeMicros>> DatacenterAckedAges(TimeMicros now) const;
  void TrimDatacenterBuffers(const std::vector<std::pair<std::string, TimeMicros>>& acked,
                             TimeMicros now);
  // Whether this replica expects peers (a node with seeds; the default). The keys of a snapshot
  // restored too old to trust wait for a peer (replica/stale_restore.h); a replica that
  // expects none waits max_pruning_dissemination at most, then takes them back whole.
  void ExpectPeers(bool expect);

  // The wall clock, for tombstone ages and the timestamps callers give LWW writes; `now` of
  // every call is then only for timers (a monotonic clock). Unset: `now` is both.
  void SetWallClock(std::function<TimeMicros()> wall);
  // The wall clock's time when `now` is the timers' time.
  TimeMicros WallTime(TimeMicros now) const;

  // ---- local requests ----
  // Changes `value` (the key's current value, or its empty value when absent) in place and
  // returns the delta of the change.
  using Mutation = std::function<Result<AnyCrdt>(AnyCrdt& value)>;
  // Applies the mutation locally (errors: TypeMismatch, KeyDeleted, or the mutation's own) and
  // replicates it; Majority/All also sends it to peers and completes when enough acks arrive or
  // with kTimeout (the local write stays). Returns 0 when already complete. A mutation that
  // fails (or returns a delta of another type) stores nothing for a new key; on an existing key
  // what it changed before failing stays, and reaches the peers by anti-entropy.
  Result<RequestId> Update(std::string_view key, CrdtType type, const Mutation& mutate,
                           Consistency level, TimeMicros now,
                           std::optional<double> timeout = std::nullopt);
  // Deletes the key (absent keys too: the tombstone still replicates).
  Result<RequestId> Delete(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                           std::optional<double> timeout = std::nullopt);
  // The local value: nullptr when absent or deleted; TypeMismatch for another type.
  Result<const AnyCrdt*> Get(std::string_view key, CrdtType type) const;
  // A coordinated read; Local completes at once (0) and Get gives the value.
  Result<RequestId> Read(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                         std::optional<double> timeout = std::nullopt);
  bool IsDeleted(std::string_view key) const;
  // Live keys, by name.
  std::vector<std::pair<std::string, CrdtType>> Keys() const;
  void Subscribe(std::string_view key);
  void Unsubscribe(std::string_view key);

  // ---- inputs ----
  void Receive(std::string_view frame, TimeMicros now);
  // Runs what is due: delta flush, anti-entropy, pruning, request timeouts.
  void Tick(TimeMicros now);
  // Frames from `peer` were lost on the way: an anti-entropy round with it repairs them, at the
  // next Tick, or once loss_repair_interval has passed since the last such round with it.
  void RepairFrom(NodeId peer, TimeMicros now);
  // `peer` was just met (first contact, a new incarnation, or back after a partition): an
  // anti-entropy round with it starts at the next Tick, so that what either side wrote before
  // they were connected crosses within a round trip.
  void SyncWith(NodeId peer);
  // Back-pressure: the seconds between delta flushes from now on (at first the option
  // delta_flush_interval); a longer interval makes fewer, larger delta batches. Values <= 0 are
  // ignored.
  void SetDeltaFlushInterval(double seconds);
  double delta_flush_interval() const;
  // The next time Tick has something to do.
  TimeMicros NextDeadline() const;

  // ---- outputs ----
  std::vector<OutgoingFrame> TakeOutgoing();
  // A frame taken from TakeOutgoing that the transport refused (its queue was full): a piece of
  // a large frame (kFragment) is sent again, after a pause of its peer; others are dropped (the
  // replicator repairs what they carried as it repairs any lost frame).
  void ReturnRefused(OutgoingFrame frame, TimeMicros now);
  // Keys whose full state was sent larger than log_data_size_exceeding since the last call,
  // each once in this replicator's life, with the size: for the node's log.
  std::vector<std::pair<std::string, size_t>> TakeLargeKeys();
  std::vector<ReplicaEvent> TakeEvents();
  std::vector<Completion> TakeCompletions();

  // ---- snapshots ----
  // A record for the snapshot store: (key, the encoded state or tombstone); empty bytes: the key
  // is gone (pruned), erase its record.
  using SnapshotChange = std::pair<std::string, std::string>;
  // Starts recording which keys and tombstones change (a node with snapshots calls it once).
  void TrackChanges();
  // The records of every key and tombstone changed since the last call.
  std::vector<SnapshotChange> TakeChanges();
  // Gives back records that could not be written (a failed snapshot): their keys count as
  // changed again, so the next TakeChanges returns their state as it is then.
  void ReturnChanges(const std::vector<SnapshotChange>& unwritten);
  // Loads snapshot records into this (empty) replicator, all or nothing: Corruption, and
  // nothing loaded, when any record is bad.
  Status Restore(const std::vector<SnapshotChange>& records);

  // ---- observation ----
  const ReplicatorMetrics& metrics() const;
  // Named metrics: crdt.replicator.store.size, .merge.count, .delta.publish.count, ...
  std::map<std::string, double> NamedMetrics() const;
  // A digest of every key and tombstone: equal on replicas holding equal states.
  uint64_t StoreDigest();
  size_t tombstone_count() const;
  // The records of the prunings performed on `key` whose markers this replica still holds
  // (convergent/crdt/pruning.h): how dots of removed replicas were moved, for tests and tools.
  std::vector<PruningRecord> PruningRecords(std::string_view key) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convergent
