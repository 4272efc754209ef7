// The insides of Replicator (convergent/replicator.h), shared by the files of cpp/src/replica/:
// replicator.cc (store, local requests, delta batching, dispatch), anti_entropy.cc (digest
// rounds and repair), coordination.cc (Majority/All writes and reads).
//
// Thread safety: none; owned by one Replicator.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "convergent/replicator.h"
#include "replica/digest_tree.h"
#include "replica/messages.h"

namespace convergent {

inline constexpr uint32_t kNoPending = 0xffffffffu;

// Bytes of a frame that are not its entries: the frame's own fields, and the headers a node adds
// (its bus header and tag). Batches and repairs fill max_frame_size minus this.
inline constexpr size_t kFrameOverhead = 64;
size_t FrameBudget(size_t max_frame_size);
// Upper bounds of an entry's encoded size inside a batch or repair (tags, lengths, flags).
inline size_t EntryBound(const internal::KeyedState& s) {
  return s.key.size() + s.state.size() + 24;
}
inline size_t TombstoneBound(const internal::Tombstone& t) { return t.key.size() + 32; }

// A key (or tombstone) to publish at the next flush, in update order.
struct PendingDelta {
  std::string name;
  std::optional<AnyCrdt> delta;  // nullopt: a tombstone
};

// Empties a buffer that is refilled in bursts; a large one (a burst of 64k+ entries, megabytes)
// gives its memory back, a smaller one keeps it for the next burst.
template <typename T>
void ReleaseIfLarge(std::vector<T>& v) {
  if (v.capacity() > (size_t{1} << 16)) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

// One live key. Fields ordered for size: a million keys pay for every byte.
struct KeyEntry {
  AnyCrdt value;
  uint64_t key_hash = 0;
  uint64_t digest = 0;  // its contribution to the digest tree (0: none yet)
  // Local deltas joined since the last flush: an index into Impl::pending (kNoPending: none).
  // Kept out of the entry so that a large store of idle keys costs no delta space.
  uint32_t pending = kNoPending;
  CrdtType type = CrdtType::kGCounter;
  bool digest_dirty = true;
};

// The hash of key names in the stores: xxHash, and cheap enough that the maps do not cache it in
// every node (libstdc++ caches std::hash<std::string>).
struct NameHash {
  size_t operator()(const std::string& s) const noexcept;
};

struct TombstoneEntry {
  CrdtType type;
  TimeMicros deleted_at = 0;
  uint64_t key_hash = 0;
  uint64_t digest = 0;
  bool pending = false;  // to be published in the next delta batch
};

struct PendingRequest {
  bool is_read = false;
  Consistency level = Consistency::kLocal;
  std::string key;
  CrdtType type;
  size_t needed = 0;  // answers needed from peers (self already counted)
  size_t answers = 0;
  size_t failures = 0;
  // The peers asked that have not answered yet: a peer counts once, however many copies of its
  // answer the network delivers.
  std::vector<NodeId> waiting;
  // Every peer asked so far (sorted): a peer that joins while the request runs is asked too.
  std::vector<NodeId> asked;
  // The peers whose answers counted (answers): one that leaves no longer counts.
  std::vector<NodeId> answered;
  std::string last_error;
  bool last_error_deleted = false;  // the last error was a peer's tombstone (kKeyDeleted)
  TimeMicros deadline = 0;
  // The request as sent, resent to the peers still waiting at next_resend (the interval doubles
  // each time): a lost request or a peer not yet connected does not doom the request.
  internal::FrameBody message;
  TimeMicros next_resend = 0;
  TimeMicros resend_interval = 0;
  std::optional<AnyCrdt> merged;  // reads: what the peers answered
  std::optional<internal::Tombstone> tombstone;
};

class Replicator::Impl {
 public:
  Impl(NodeId self, ReplicaId replica, ReplicatorOptions options, uint64_t seed);

  // ---- replicator.cc ----
  Result<RequestId> Update(std::string_view key, CrdtType type, const Mutation& mutate,
                           Consistency level, TimeMicros now, std::optional<double> timeout);
  Result<RequestId> Delete(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                           std::optional<double> timeout);
  Result<const AnyCrdt*> Get(std::string_view key, CrdtType type) const;
  void Receive(std::string_view frame, TimeMicros now);
  void Tick(TimeMicros now);
  TimeMicros NextDeadline() const;
  std::map<std::string, double> NamedMetrics() const;
  uint64_t StoreDigest();

  // Store operations used by all parts. Each keeps the digest tree, leaf index and events right.
  // Joins a remote state or delta; false (and counted) when it is malformed or mistyped.
  bool MergeRemote(const internal::KeyedState& s, TimeMicros now);
  // Joins an already decoded value (ignored for a deleted key); false when mistyped.
  bool MergeValue(const std::string& key, AnyCrdt value);
  // Applies a tombstone (local or remote); false when the live key has another type.
  bool ApplyTombstone(const internal::Tombstone& t, bool publish);
  void MarkChanged(const std::string& key, KeyEntry& e, const std::optional<AnyCrdt>& before);
  void Send(std::optional<NodeId> to, internal::FrameBody body);
  TimeMicros Micros(double seconds) const { return static_cast<TimeMicros>(seconds * 1e6); }
  uint64_t KeyHash(std::string_view key) const;

  // ---- anti_entropy.cc ----
  void StartAntiEntropy(TimeMicros now);
  void StartRound(NodeId peer);
  // Starts the loss repairs (RepairFrom) that are due.
  void RunLossRepairs(TimeMicros now);
  void OnDigestStep(NodeId from, const internal::DigestStepMsg& m);
  void OnKeyDigests(NodeId from, const internal::KeyDigestsMsg& m);
  void OnRepair(NodeId from, internal::RepairMsg& m, TimeMicros now);
  void RefreshDigests();
  // Appends a key's state or tombstone (or, Want, the hash of a key wanted back) to a repair,
  // sending full chunks to `to` first.
  void AddToRepair(NodeId to, const std::string& key, internal::RepairMsg& repair, size_t& bytes);
  void WantInRepair(NodeId to, uint64_t hash, internal::RepairMsg& repair, size_t& bytes);
  void MakeRepairRoom(NodeId to, size_t entry, internal::RepairMsg& repair, size_t& bytes);

  // ---- coordination.cc ----
  RequestId StartWrite(internal::WriteRequestMsg msg, Consistency level, TimeMicros now,
                       std::optional<double> timeout);
  RequestId StartRead(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                      std::optional<double> timeout);
  void OnWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now);
  void OnWriteAck(NodeId from, const internal::WriteAckMsg& m);
  void OnRead(NodeId from, const internal::ReadRequestMsg& m);
  void OnReadReply(NodeId from, internal::ReadReplyMsg& m, TimeMicros now);
  // Counts a peer's answer to a pending request and completes it when the level is reached (or
  // can no longer be); nullptr when the request is gone or the peer already answered.
  PendingRequest* TakeAnswer(NodeId from, RequestId id, bool is_read);
  // Counts the answer of peer `from`; a failure (ok false) records `error`, a peer's tombstone
  // when `deleted`.
  void CountAnswer(NodeId from, RequestId id, PendingRequest& r, bool ok, std::string error,
                   bool deleted = false);
  // Completes the requests past their deadline with a timeout and resends the others when due.
  void ExpireRequests(TimeMicros now);
  size_t Needed(Consistency level) const;
  // The membership changed (SetPeers, SetReplicaCount): asks the peers that joined since each
  // request started, takes back the answers of peers that left, and sets what each request needs
  // from the N there is now, completing those that now have enough answers.
  void OnMembershipChange();
  void Complete(RequestId id, Status status);

  // ---- state ----
  NodeId self;
  ReplicaId replica;
  ReplicatorOptions options;
  std::mt19937_64 rng;
  std::vector<NodeId> peers;
  // N of Majority/All as the node counts it (SetReplicaCount); never below peers + 1.
  size_t replica_count = 1;
  // The wall clock (SetWallClock); unset: the `now` of each call.
  std::function<TimeMicros()> wall_clock;
  TimeMicros WallTime(TimeMicros now) const { return wall_clock ? wall_clock() : now; }

  std::unordered_map<std::string, KeyEntry, NameHash> keys;
  std::unordered_map<std::string, TombstoneEntry, NameHash> tombstones;
  // The names of the keys and tombstones of each digest-tree leaf, sorted, as pointers to the
  // names held by `keys` and `tombstones` (node-based maps: the pointers stay valid until the
  // entry is erased, which also removes it here). 8 bytes per key instead of a set node.
  std::vector<std::vector<const std::string*>> leaf_members;
  void LeafInsert(uint64_t key_hash, const std::string* name);
  void LeafErase(uint64_t key_hash, const std::string& name);
  internal::DigestTree tree;
  std::vector<std::string> dirty_digests;  // keys whose digest must be recomputed
  std::vector<PendingDelta> pending;       // released after each flush (see ReleaseIfLarge)
  std::unordered_map<std::string, int> subscriptions;

  std::map<RequestId, PendingRequest> requests;
  // Starts at a random point per incarnation, so that a late answer to the previous incarnation
  // of this node cannot be taken for an answer to a new request.
  RequestId next_request = 1;
  uint64_t next_round = 1;

  TimeMicros flush_interval = 0;  // delta_flush_interval, or what back-pressure set
  TimeMicros next_flush = 0;
  // Loss repairs (RepairFrom) per peer: when the last started, and whether one waits.
  struct LossRepair {
    TimeMicros last = 0;
    bool started = false;
    bool waiting = false;
  };
  std::map<NodeId, LossRepair> loss_repairs;
  std::vector<NodeId> meetings;  // peers just met: a round with each at the next Tick (SyncWith)
  TimeMicros next_anti_entropy = 0;
  TimeMicros next_prune = 0;
  bool started = false;

  std::vector<OutgoingFrame> outgoing;
  // Snapshots: the keys and tombstones changed since the last TakeChanges (when tracking).
  bool track_changes = false;
  std::set<std::string> changed;
  std::vector<ReplicaEvent> events;
  std::vector<Completion> completions;
  ReplicatorMetrics metrics;
};

}  // namespace convergent
