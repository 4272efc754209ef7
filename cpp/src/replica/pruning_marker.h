// The pruning markers of a key: for each removed replica being pruned from the key's value, who
// prunes it (the owner), which members hold the marker (seen), and once the owner pruned, its
// PruningRecord (convergent/crdt/pruning.h). Markers travel with the key's full state
// (anti-entropy repairs, read replies, full deltas) and its snapshot record. Internal.
//
//   Initialized (no record): the owner waits until every member holds the marker; each member,
//     on holding it, adds itself to `seen` and takes no more frames from the removed replica, so
//     the owner then holds everything anyone holds of it. Initialized markers are part of the
//     key's digest, so that anti-entropy spreads them and their seen sets.
//   Performed (record): the owner pruned. A replica that learns the record cleans its own value
//     with it, and cleans every value of the key it receives from then on. Performed markers are
//     not part of the digest: the pruned value differs from every unpruned copy, and that
//     difference carries the record to every replica that still needs it; each replica then
//     keeps it for pruning_marker_ttl on its own clock (`learned_at`, never sent), so replicas
//     that drop it at different times never disagree over it. While it is fresh (for
//     max_pruning_dissemination) the key's changes go out as full states with their markers:
//     a delta may name the target's dots, which mean nothing to a replica without the record.
//
// Join of two markers of one removed replica: a Performed one beats an Initialized one; of two
// of the same kind, the smaller owner's wins (one pruning per removed replica and key); of the
// same owner, the `seen` sets unite.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "convergent/crdt/any_crdt.h"
#include "convergent/crdt/pruning.h"
#include "convergent/ids.h"
#include "convergent/replicator.h"

namespace convergent::internal {

struct PruningMarker {
  ReplicaId removed;
  ReplicaId owner;
  std::vector<ReplicaId> seen;             // ascending
  std::optional<PruningRecord> performed;  // set once the owner pruned
  TimeMicros learned_at = 0;  // Performed: when this replica got it (local; not sent, not compared)

  friend bool operator==(const PruningMarker& a, const PruningMarker& b) {
    return a.removed == b.removed && a.owner == b.owner && a.seen == b.seen &&
           a.performed == b.performed;
  }
};

// A key's markers, ascending by removed replica, one per replica.
using PruningMarkers = std::vector<PruningMarker>;

// Joins `from` into `into`; true when `into` changed.
bool JoinMarkers(PruningMarkers& into, const PruningMarkers& from);
// Adds `self` to the seen set of every Initialized marker; true when one changed.
bool MarkSeen(PruningMarkers& markers, ReplicaId self);
// Whether every replica of `members` (ascending) is in the marker's seen set.
bool SeenByAll(const PruningMarker& m, const std::vector<ReplicaId>& members);
// Cleans a value with every Performed record of `markers` whose removed replica it still holds.
void CleanWith(AnyCrdt& value, const PruningMarkers& markers);
// Joins a value with its markers into another of the same type: the markers join, and both
// values are cleaned with every record either side holds before they join.
void JoinWithMarkers(AnyCrdt& into, PruningMarkers& into_markers, AnyCrdt from,
                     const PruningMarkers& from_markers);
// The markers' contribution to the key's digest: the Initialized ones' (0 for none).
uint64_t MarkersDigest(const PruningMarkers& markers);

}  // namespace convergent::internal
