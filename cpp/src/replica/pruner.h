// Pruner: a replicator's side of removed-replica pruning (docs/concepts.md, "Removed replicas").
// It knows the replicas that are gone for good (told by the node's membership, or named by a
// key's markers) and drops their frames; on the leader it starts a pruning (an Initialized
// marker, replica/pruning_marker.h) of every key that holds a removed replica once that one has
// been gone for max_pruning_dissemination, and takes over the prunings of owners that are gone;
// as a marker's owner it prunes the key once every member holds the marker; and it drops the
// records it has held for pruning_marker_ttl (and refuses them from then on). It also says which
// keys' changes must go out as full states (a record learned less than
// max_pruning_dissemination ago).
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "convergent/replicator.h"
#include "replica/key_store.h"

namespace convergent::internal {

class Pruner {
 public:
  Pruner(KeyStore& store, const ReplicatorOptions& options, ReplicaId self,
         ReplicatorMetrics& metrics);

  // The replicas of the current members, self included. Until it is set, nothing is pruned.
  void SetMembers(std::vector<ReplicaId> members);
  // Whether this node starts prunings (the leader of its role).
  void SetLeader(bool leader) { leader_ = leader; }
  // A replica gone for good (a node's earlier incarnation, or a member that left), with the
  // target it pruned into, if it ever owned a pruning.
  void Remove(ReplicaId removed, TimeMicros now);
  bool IsRemoved(ReplicaId r) const { return removed_.count(r) != 0; }
  size_t removed_count() const { return removed_.size(); }
  size_t member_count() const { return members_.size(); }
  const std::vector<ReplicaId>& members() const { return members_; }
  bool leader() const { return leader_; }
  // Markers that reached this replica (joined with its own): the replicas they name are removed
  // here too; records this replica let go of stay gone, a marker whose owner is gone is dropped
  // (the leader starts it again), and a record new here is stamped with `now`.
  void Admit(PruningMarkers& markers, TimeMicros now);
  // Whether a change of `name` must go out as its full state (with its markers).
  bool NeedsFullState(const std::string& name, TimeMicros now) const;

  void Start(TimeMicros now) { next_pass_ = now; }
  // A pass, when due: records to let go, prunings to perform, prunings to start.
  void Tick(TimeMicros now);
  TimeMicros NextDeadline() const { return next_pass_; }

 private:
  // One key's markers in a pass; true when they changed.
  bool Pass(const std::string& name, PruningMarkers& markers, TimeMicros now);

  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicaId self_;
  ReplicatorMetrics& metrics_;
  std::vector<ReplicaId> members_;  // ascending
  bool leader_ = false;
  std::map<ReplicaId, TimeMicros> removed_;  // -> when it was learned
  std::map<ReplicaId, TimeMicros> retired_;  // records let go of -> when
  TimeMicros next_pass_ = 0;
};

}  // namespace convergent::internal
