// Pruner: a replicator's side of removed-replica pruning (docs/concepts.md, "Removed replicas").
// It knows the replicas that are gone for good (told by the node's membership, or named by a
// key's markers) and drops their frames; on the leader it starts a pruning (an Initialized
// marker, replica/pruning_marker.h) of every key that holds a removed replica once that one has
// been gone for max_pruning_dissemination; as a marker's owner it prunes the key once every
// member holds the marker; and it drops markers that became obsolete. It also says which keys'
// changes must go out as full states (a record not every member holds yet).
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
  // A replica gone for good (a node's earlier incarnation, or a member that left).
  void Remove(ReplicaId removed, TimeMicros now);
  // The replicas a key's markers name are removed here too.
  void Observe(const PruningMarkers& markers, TimeMicros now);
  bool IsRemoved(ReplicaId r) const { return removed_.count(r) != 0; }
  // Whether a change of `name` must go out as its full state (with its markers).
  bool NeedsFullState(const std::string& name) const;

  void Start(TimeMicros now) { next_pass_ = now; }
  // A pass, when due: obsolete markers, prunings to perform, prunings to start.
  void Tick(TimeMicros now, TimeMicros wall);
  TimeMicros NextDeadline() const { return next_pass_; }

 private:
  KeyStore& store_;
  const ReplicatorOptions& options_;
  ReplicaId self_;
  ReplicatorMetrics& metrics_;
  std::vector<ReplicaId> members_;  // ascending
  bool leader_ = false;
  std::map<ReplicaId, TimeMicros> removed_;  // -> when it was learned
  TimeMicros next_pass_ = 0;
};

}  // namespace convergent::internal
