// The insides of Replicator (convergent/replicator.h): replicator.cc holds its local requests,
// frame dispatch, timers and answers to the peers' coordinated requests, over its parts, each a
// class with private state. The keys and tombstones are a KeyStore's (key_store.h), the digest-tree
// rounds an AntiEntropy's (anti_entropy.h), the batching of local changes a DeltaFlush's
// (delta_flush.h), the requests this node coordinates a Coordinator's (coordinator.h).
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
#include <vector>

#include "convergent/replicator.h"
#include "replica/anti_entropy.h"
#include "replica/coordinator.h"
#include "replica/dc_replication.h"
#include "replica/delta_flush.h"
#include "replica/fragments.h"
#include "replica/key_expiry.h"
#include "replica/key_store.h"
#include "replica/messages.h"
#include "replica/pruner.h"
#include "replica/stale_restore.h"
#include "replica/tombstone_collector.h"

namespace convergent {

class Replicator::Impl final : public internal::CoordinatorHost,
                               public internal::AntiEntropyHost,
                               public internal::DcHost {
 public:
  Impl(NodeId self, ReplicaId replica, ReplicatorOptions options, uint64_t seed);

  // ---- replicator.cc ----
  Result<RequestId> Update(std::string_view key, CrdtType type, const Mutation& mutate,
                           Consistency level, TimeMicros now, std::optional<double> timeout);
  Result<RequestId> Delete(std::string_view key, CrdtType type, Consistency level, TimeMicros now,
                           std::optional<double> timeout);
  Result<const AnyCrdt*> Get(std::string_view key, CrdtType type) const;
  void Receive(std::string_view frame, TimeMicros now);
  // A decoded frame of `size` bytes.
  void Dispatch(internal::FrameMsg& f, size_t size, TimeMicros now);
  void Tick(TimeMicros now);
  TimeMicros NextDeadline() const;
  std::map<std::string, double> NamedMetrics() const;
  uint64_t StoreDigest();

  // Joins a remote state or delta; false (and counted) when it is malformed or mistyped. Its
  // bytes are released once decoded; a large full state the key holds already (the same digest)
  // is not decoded at all.
  bool MergeRemote(internal::KeyedState& s, TimeMicros now) override;
  // Joins a value and its pruning markers into the key (see replica/pruning_marker.h); false
  // when mistyped. Ignored for a deleted key.
  bool MergeState(const std::string& name, AnyCrdt value, const internal::PruningMarkers& markers,
                  TimeMicros now);
  // The key's state as it goes to a peer: its full state with its markers.
  internal::KeyedState FullState(const std::string& name,
                                 const internal::KeyEntry& e) const override;
  // Applies a tombstone from a peer (or a snapshot); false when the key has another type. A
  // local delete goes to the store itself and is published by the DeltaFlush.
  bool ApplyRemoteTombstone(const internal::Tombstone& t) override;
  void Send(std::optional<NodeId> to, internal::FrameBody body);
  // A frame joined from fragments: read as if it had come whole (never a fragment itself); its
  // bytes are released once decoded.
  void ReceiveJoined(std::string whole, TimeMicros now);
  // Notes the keys whose full states in `body` pass log_data_size_exceeding.
  void NoteLargeStates(const internal::FrameBody& body);
  // A key set aside by a quarantine joins back once a peer's state of it arrived.
  void TakeBackQuarantined(const std::string& name, TimeMicros now);
  // The keys set aside from a stale snapshot join back once the wait is over (those no peer
  // showed are dropped instead when this replica also missed collected deletes).
  void ReturnStale(TimeMicros now);
  // How often a node that is up rewrites its snapshot's stamp when nothing changed.
  TimeMicros StampInterval() const;
  // Drops the key states of a frame from a replica that missed collected deletes (counted).
  void RefuseStates(internal::FrameBody& body);

  // ---- answers to the peers' coordinated requests (replicator.cc) ----
  void OnWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now);
  void OnRead(NodeId from, const internal::ReadRequestMsg& m);
  // Another datacenter's DcMajority/DcAll request: applied (a write) here, then a Majority of
  // this datacenter coordinated from here, answered when it completes (ForwardDcCompletions).
  void OnDatacenterWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now);
  void OnDatacenterRead(NodeId from, const internal::ReadRequestMsg& m, TimeMicros now);
  // Answers the other datacenters' requests whose Majority here completed (their completions
  // are not this node's: they leave `completions`). A timeout is not answered: the asking node
  // asks again, or times out itself.
  void ForwardDcCompletions();

  // ---- internal::AntiEntropyHost (and MergeRemote, ApplyTombstone, SendTo) ----
  const std::vector<NodeId>& AntiEntropyPeers() const override { return peers; }
  std::optional<internal::DeleteAdvert> AdvertTo(NodeId peer) const override {
    if (dc.IsRemoteMember(peer)) return std::nullopt;
    return collector.AdvertTo(peer);
  }
  // A peer's advert at the start of its round (replica/tombstone_collector.h).
  void OnAdvert(NodeId from, ReplicaId from_replica, const internal::DeleteAdvert& advert,
                TimeMicros now);

  // ---- internal::CoordinatorHost ----
  const std::vector<NodeId>& CoordinationPeers() const override { return peers; }
  size_t CoordinationN() const override { return std::max(replica_count, peers.size() + 1); }
  std::vector<std::pair<std::string, std::optional<NodeId>>> CoordinationDatacenters()
      const override {
    return dc.Targets();
  }
  std::string DatacenterOfMember(NodeId node) const override { return dc.DatacenterOfMember(node); }
  void SendTo(NodeId peer, internal::FrameBody body) override;
  void BroadcastToPeers(internal::FrameBody body) override {
    if (!peers.empty()) Send(std::nullopt, std::move(body));
  }
  // The peers and the members of other datacenters (whom frames may go to).
  std::vector<NodeId> Correspondents() const;
  void CompleteRead(const std::string& key, CrdtType type,
                    std::optional<internal::Tombstone> tombstone, std::optional<AnyCrdt> merged,
                    const internal::PruningMarkers& merged_pruning,
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

  TimeMicros next_prune = 0;  // tombstones
  bool started = false;

  std::vector<OutgoingFrame> outgoing;
  std::vector<ReplicaEvent> events;
  std::vector<Completion> completions;
  ReplicatorMetrics metrics;
  // The keys and tombstones, their digests and change tracking (after what it refers to).
  internal::KeyStore store;
  internal::KeyExpiry expiry;              // expire_keys_after_inactivity (after the store)
  internal::AntiEntropy anti_entropy;      // its rounds with the peers (after the store)
  internal::DeltaFlush flush;              // the local changes it publishes (after the store)
  internal::Pruner pruner;                 // removed replicas and their pruning (after the store)
  internal::TombstoneCollector collector;  // deletes and tombstone collection (after the store)
  internal::DcReplication dc;              // other datacenters (after the store)
  // Where the frame being dispatched came from: this replica (none), a peer, a peer relaying
  // another datacenter's changes, or another datacenter. Changes from a peer are buffered for
  // the other datacenters; changes from another datacenter are relayed to the peers.
  enum class Origin { kHere, kPeer, kRelayed, kRemote };
  Origin origin = Origin::kHere;
  internal::StaleRestore stale_restore;  // keys of a stale snapshot, set aside
  bool restoring_stale = false;          // Restore: the snapshot is stale
  bool expect_peers = true;              // ExpectPeers
  uint64_t snapshot_stamp = 0;           // the stamp of the snapshot as last read or written
  internal::Fragmenter fragmenter;       // frames larger than max_frame_size, going out
  internal::Reassembler reassembler;     // and coming in
  std::set<std::string> large_reported;  // keys reported large (at most 10,000 kept)
  std::vector<std::pair<std::string, size_t>> large_keys;  // reported, not taken yet
  // Majority/All/To(n) requests in flight (after what it refers to).
  internal::Coordinator coordinator;
  // Requests coordinated here for another datacenter: this node's request id -> who asked,
  // with its request id, and what (a read of `key` as `type`, or a write).
  struct ForDatacenter {
    NodeId from = 0;
    RequestId request = 0;
    bool is_read = false;
    std::string key;
    CrdtType type = CrdtType::kGCounter;
  };
  std::map<RequestId, ForDatacenter> for_datacenters;
};

}  // namespace convergent
