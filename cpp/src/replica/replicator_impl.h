// The insides of Replicator (convergent/replicator.h), shared by the files of cpp/src/replica/:
// replicator.cc (store, local requests, delta batching, dispatch, answers to coordinated
// requests), anti_entropy.cc (digest rounds and repair); the requests this node coordinates are
// a Coordinator's (coordinator.h).
//
// Thread safety: none; owned by one Replicator.
#pragma once

#include <algorithm>
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
#include "replica/coordinator.h"
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

class Replicator::Impl final : public internal::CoordinatorHost {
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

  // ---- answers to the peers' coordinated requests (replicator.cc) ----
  void OnWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now);
  void OnRead(NodeId from, const internal::ReadRequestMsg& m);

  // ---- internal::CoordinatorHost ----
  const std::vector<NodeId>& CoordinationPeers() const override { return peers; }
  size_t CoordinationN() const override { return std::max(replica_count, peers.size() + 1); }
  void SendTo(NodeId peer, internal::FrameBody body) override { Send(peer, std::move(body)); }
  void CompleteRead(const std::string& key, CrdtType type,
                    std::optional<internal::Tombstone> tombstone, std::optional<AnyCrdt> merged,
                    Completion& completion) override;

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
  // Majority/All/To(n) requests in flight (after what it refers to).
  internal::Coordinator coordinator;
};

}  // namespace convergent
