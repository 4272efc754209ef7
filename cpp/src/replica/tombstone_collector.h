// TombstoneCollector: a replicator's side of safe tombstone collection (docs/concepts.md,
// "Deletes and tombstones"). No clock of another node takes part in it.
//
// - Every delete has a dot of its replica's delete counter, carried by the tombstone.
// - The collector keeps the deletes this store has seen (a causal context), and what each member
//   replica last said it has seen (its advert, heard straight from it at the start of each
//   anti-entropy round it begins with this node). With snapshots, a replica advertises only what
//   its last deletes record holds, so no floor counts on a delete a crash can take back.
// - The floor is the deletes every current member has seen, as far as heard, and only while
//   every member says it knows the same members (a hash in the advert). Floors spread: a peer's
//   floor within what this replica has seen is its floor too.
// - A tombstone whose dots are all under the floor is in every member's store: it leaves the
//   digest tree at once (nobody needs it repaired) and is collected once it has been under the
//   floor for tombstone_ttl on this node's clock (the frames a member sent before its advert
//   arrive before it on the same link; the wait covers what the network reorders). A tombstone
//   arriving under the floor was collected here already and is ignored. A member that is silent
//   (partitioned, crashed) blocks collection until it is heard again or leaves.
// - A replica whose deletes do not cover a peer's floor missed deletes whose tombstones are gone.
//   The peer refuses its states while it stays so, read replies included, which are then no
//   answer (and starts a round with it, so that it learns). The stale replica, on learning it, sets
//   aside its live keys not written since the last advert (quarantine) and adopts the floor; a key
//   set aside comes back when a peer shows it still holds the key (a state of it arrives), and is
//   dropped after the quarantine (two anti-entropy intervals) otherwise. A store that started empty
//   is new until it has heard every member: it adopts floors without quarantine. A store restored
//   from a snapshot is unsure until it has heard every member (or for two anti-entropy intervals
//   after the first): it may be stale without knowing it yet, so it does not answer peers'
//   coordinated requests (unsure()). Two sides that each collected what the other missed (both
//   removed each other: a split brain) adopt each other's floors and keep their keys; counted.
// - A delete of a replica that is gone which this replica has not seen, while it has seen a
//   later one, and which no member advertises short of: lost with its replica (a tombstone that
//   never left it) or held by a member that is past it, whose anti-entropy brings it within
//   tombstone_ttl. A lost one would hold the floor below every later delete of that replica for
//   good, so once it has been so for tombstone_ttl, this replica marks it seen: the delete
//   stays lost, and its tombstone, should it still come, may be ignored. Counted.
// - An entry of a replica that is gone and whose deletes are all under the floor retires: it
//   stays in the vectors but is left out of adverts (replica/retired_deletes.h), so that an
//   advert does not grow with every restart.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/replicator.h"
#include "replica/key_store.h"
#include "replica/messages.h"
#include "replica/retired_deletes.h"
#include "replica/snapshot_codec.h"

namespace convergent::internal {

class TombstoneCollector {
 public:
  TombstoneCollector(KeyStore& store, const ReplicatorOptions& options, ReplicaId self,
                     ReplicatorMetrics& metrics);

  // The dot of a local delete.
  Dot NextDot();
  // A tombstone reaching this store (from a peer, a snapshot, or a local delete): records its
  // dots as seen; false when all of them are under the floor (it was collected here: ignore it).
  bool Admit(const DeleteDots& dots);

  // What this replica advertises in a round it starts with `peer`: its vectors without the
  // retired entries when the peer's last advert named the same retired set, else whole and
  // with the set (replica/retired_deletes.h).
  DeleteAdvert AdvertTo(NodeId peer) const;
  // A peer replica's advert. kAdopted: this replica took (some of) the peer's floor, which the
  // peer should hear; kQuarantined: it also learned that it missed collected deletes and set its
  // keys aside (every peer should hear, and send what it holds); kUnreadable: it left out
  // retired entries of a set this replica does not have (ignored, counted: the peer should
  // hear this replica's set).
  enum class Heard { kNothingNew, kAdopted, kQuarantined, kUnreadable };
  Heard OnAdvert(NodeId from_node, ReplicaId from, const DeleteAdvert& advert, TimeMicros now);
  // Whether `r` advertised deletes that do not cover the floor here.
  bool IsStale(ReplicaId r) const;
  // Whether this replica refuses the key states of replica `r` of `node`: r is stale, or this
  // store is fresh (no floor to judge by: it takes any floor as it is) and the node's last
  // advert said it was unsure (what it holds may be deleted and collected elsewhere).
  bool RefusesStatesOf(NodeId node, ReplicaId r) const;
  // Whether this replica keeps its key states from `node` (anti-entropy repairs): it is unsure
  // and the node's last advert said it was fresh (the other side of the same rule, for the
  // rounds the fresh node starts, where this replica's advert is not heard first).
  bool WithholdsStatesFrom(NodeId node) const;
  // True the first time an unsure advert of replica `r` is heard (see unsure()).
  bool FirstUnsureAdvertOf(ReplicaId r) { return answered_unsure_.insert(r).second; }
  // The epoch of local writes: it moves at every advert heard (KeyEntry::written_epoch).
  uint16_t epoch() const { return epoch_; }

  // Forgets what nodes that are no longer peers (sorted) last advertised.
  void KeepPeers(const std::vector<NodeId>& peers);
  // The current members' replicas (ascending), whose hash the adverts carry.
  void SetMembers(const std::vector<ReplicaId>& members);
  // A collection pass over the tombstones, with the members of SetMembers (self included;
  // none: unknown, nothing is collected). The floor rises only when every member has said it
  // knows the same members (a node that has not heard of one yet must not collect without it).
  // Also ends a quarantine that is over.
  void Tick(TimeMicros now);

  // A key set aside by a quarantine, taken back (nullopt: none).
  std::optional<AnyCrdt> TakeQuarantined(const std::string& name);
  size_t quarantined_count() const { return quarantine_.size(); }
  size_t retired_count() const { return retired_.entries().size(); }

  // ---- snapshots: the seen deletes and the floor, as one record ----
  // The record (named "") when it changed since the last call or `anyway`, else nullopt.
  std::optional<DeletesRecord> TakeRecord(bool anyway = false);
  void GiveBackRecord() {
    record_dirty_ = true;
    durable_ = durable_before_;  // not written after all
  }
  // The store was restored from a snapshot: it holds state from before. Then the record, if
  // the snapshot had one.
  void NoteRestored() {
    fresh_ = false;
    unsure_ = true;
  }
  // Whether this store may have missed collected deletes without knowing it yet: it was
  // restored from a snapshot, which can hold less than its replica advertised (a write the
  // disk lost, an older copy), and has not yet heard every member with its own view of the
  // members (a floor that covers what it missed arrives in an advert), nor been hearing them for
  // two anti-entropy intervals (a member that is down cannot tell it; one that is up hears its
  // advert when they meet and, if it is stale, answers with its own at once). Until then it
  // takes no part in peers' coordinated requests: a write it acknowledged could go into the
  // quarantine that follows, and a read it answered could bring back a key collected elsewhere.
  // (Its adverts say so.)
  bool unsure() const { return unsure_; }
  void Restore(const DeletesRecord& record);

 private:
  static bool Covers(const CausalContext::VersionVector& vv, const CausalContext& ctx);
  // Joins a floor into this one (and into the seen deletes); true when either grew.
  bool Adopt(const CausalContext::VersionVector& floor);
  void RaiseFloor();
  // Marks seen the lost deletes of gone replicas (see the top), once they have been lost for
  // tombstone_ttl.
  void SkipLostDeletes(TimeMicros now);
  // The lowest n such that another member advertised (with this replica's view of the members)
  // that it has seen r's deletes 1..n and not n + 1 (max: no other member; nullopt: one was
  // not heard).
  std::optional<uint64_t> LowestSeenOf(ReplicaId r) const;
  // Retires the floor's entries of replicas that are not members and deleted nothing beyond it.
  void Retire();
  Heard Hear(ReplicaId from, const DeleteAdvert& advert, TimeMicros now);
  CausalContext::VersionVector AdvertisedSeen() const;
  void Quarantine(TimeMicros now);
  // Whether every other member has advertised (with this replica's view of the members, when
  // `same_view`).
  bool HeardEveryMember(bool same_view) const;
  // Member m's last advert if it named this replica's view of the members, else nullptr.
  const DeleteAdvert* HeardInThisView(ReplicaId m) const;

  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicaId self_;
  ReplicatorMetrics& metrics_;
  uint64_t next_counter_ = 0;
  CausalContext seen_;      // the deletes whose effects this store holds
  CausalContext floor_;     // the deletes every member has seen (vector only), within seen_
  RetiredDeletes retired_;  // within floor_: left out of adverts
  struct PeerAdvert {       // what each peer's last advert said of it
    uint64_t retired_digest = 0;
    bool unsure = false;
    bool fresh = false;
  };
  std::map<NodeId, PeerAdvert> peers_;
  std::map<ReplicaId, DeleteAdvert> heard_;  // members' last adverts
  std::set<ReplicaId> answered_unsure_;      // FirstUnsureAdvertOf
  uint64_t members_hash_ = 0;                // of the members at the last Tick
  // The store holds nothing from before: it started empty and has not heard every member yet.
  bool fresh_ = true;
  bool unsure_ = false;             // see unsure()
  TimeMicros unsure_until_ = 0;     // 0: no advert heard since the restore
  std::vector<ReplicaId> members_;  // ascending (SetMembers)
  bool record_dirty_ = false;
  // With snapshots: the seen deletes as of the last deletes record taken (and before it).
  CausalContext::VersionVector durable_;
  CausalContext::VersionVector durable_before_;
  uint16_t epoch_ = 1;
  struct Gap {
    uint64_t after = 0;    // the lost delete is (replica, after + 1)
    TimeMicros since = 0;  // since when no member has been short of it
  };
  std::map<ReplicaId, Gap> gaps_;  // gone replicas with a delete that may be lost (Tick)
  std::unordered_map<std::string, AnyCrdt, NameHash> quarantine_;
  TimeMicros quarantine_until_ = 0;
};

}  // namespace convergent::internal
