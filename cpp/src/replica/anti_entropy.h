// AntiEntropy: a replicator's digest-tree rounds with its peers. A round compares digest trees
// top-down with one peer, descending only into the nodes that differ, then exchanges the key
// digests of the differing leaves and repairs both sides, by the part each lacks where the key's
// type allows (see anti_entropy.cc for the exchange).
// Rounds start every anti_entropy_interval with a random peer, at once with a peer just met
// (SyncWith), and after frames from a peer were lost (RepairFrom, at most every
// loss_repair_interval per peer).
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "replica/key_store.h"
#include "replica/messages.h"

namespace convergent::internal {

// What anti-entropy needs of its replicator.
class AntiEntropyHost {
 public:
  virtual ~AntiEntropyHost() = default;
  virtual const std::vector<NodeId>& AntiEntropyPeers() const = 0;  // sorted
  virtual void SendTo(NodeId peer, FrameBody body) = 0;
  // Joins a peer's state; false (and counted) when it is malformed or mistyped. The state's
  // bytes may be taken (a large one is released as soon as it is decoded).
  virtual bool MergeRemote(KeyedState& s, TimeMicros now) = 0;
  // Applies a peer's tombstone; false (and counted) when the key has another type.
  virtual bool ApplyRemoteTombstone(const Tombstone& t) = 0;
  // What a round this replica starts tells the peer about its deletes.
  // (nullopt: none, to a replica of another datacenter.)
  virtual std::optional<DeleteAdvert> AdvertTo(NodeId peer) const = 0;
  // A key's state as it goes to a peer: its full state with its markers.
  virtual KeyedState FullState(const std::string& name, const KeyEntry& e) const = 0;
};

class AntiEntropy {
 public:
  AntiEntropy(AntiEntropyHost& host, KeyStore& store, const ReplicatorOptions& options,
              ReplicatorMetrics& metrics, std::mt19937_64& rng);

  // The first Tick: the periodic rounds start at a random offset within the interval, so that
  // nodes do not all gossip at once.
  void Start(TimeMicros now);
  // Starts the rounds that are due.
  void Tick(TimeMicros now);
  TimeMicros NextDeadline() const;
  // Frames from `peer` were lost: a round with it soon. A peer just met: a round at once.
  void RepairFrom(NodeId peer);
  void SyncWith(NodeId peer);
  // A round with a node that is not a peer (another datacenter's), now.
  void StartRoundWith(NodeId node) { StartRound(node); }
  // The peers changed: forgets what it waited for from the others.
  void KeepOnly(const std::vector<NodeId>& peers);

  void OnDigestStep(NodeId from, const DigestStepMsg& m);
  void OnKeyDigests(NodeId from, const KeyDigestsMsg& m, TimeMicros now);
  void OnRepair(NodeId from, RepairMsg& m, TimeMicros now);

 private:
  bool IsPeer(NodeId peer) const;
  void StartRound(NodeId peer);
  // Appends a key's state or tombstone (or, Want, the hash of a key wanted back) to a repair,
  // sending full chunks to `to` first.
  void AddToRepair(NodeId to, const std::string& key, RepairMsg& repair, size_t& bytes,
                   TimeMicros now);
  // Whether a key larger than a frame was sent to `to` as it is now, recently: it is still on its
  // way in pieces (replica/fragments.h), and sending it again would only queue another copy.
  bool SentRecently(NodeId to, const std::string& name, uint64_t digest, TimeMicros now);
  void WantInRepair(NodeId to, uint64_t hash, RepairMsg& repair, size_t& bytes);
  // Calls fn(name) for the keys and tombstones here whose key hash is `hash`.
  template <typename Fn>
  void ForEachNamed(uint64_t hash, Fn&& fn) const;
  // The causal context of a live key that is repaired by the part a peer lacks (a causal type
  // without pruning markers), else nullptr.
  const CausalContext* PartialContextOf(const std::string& name) const;
  // Appends a key's context to a repair: the peer answers with the part of the key it lacks.
  void SinceInRepair(NodeId to, KeyContextMsg c, RepairMsg& repair, size_t& bytes);
  // Appends the part of a key that `theirs` lacks (and, when it asks, this side's context), or
  // the key's whole state (and, when it asks, want theirs whole) when it has no part to send.
  void AddPartToRepair(NodeId to, const std::string& name, const KeyContextMsg& theirs,
                       RepairMsg& repair, size_t& bytes, TimeMicros now);
  void MakeRepairRoom(NodeId to, size_t entry, RepairMsg& repair, size_t& bytes);

  AntiEntropyHost& host_;
  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::mt19937_64& rng_;
  uint64_t next_round_ = 1;
  TimeMicros next_round_at_ = 0;  // the next periodic round
  // Loss repairs (RepairFrom) per peer: when the last started, and whether one waits.
  struct LossRepair {
    TimeMicros last = 0;
    bool started = false;
    bool waiting = false;
  };
  std::map<NodeId, LossRepair> loss_repairs_;
  std::vector<NodeId> meetings_;  // peers just met: a round with each at the next Tick
  // Large keys repaired lately: (peer, key) -> (its digest then, when).
  std::map<std::pair<NodeId, std::string>, std::pair<uint64_t, TimeMicros>> large_sent_;
};

}  // namespace convergent::internal
