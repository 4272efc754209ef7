// The pruning markers of a key: for each removed replica being pruned from the key's value, who
// prunes it (the owner), which members hold the marker (seen), and once the owner pruned, its
// PruningRecord (convergent/crdt/pruning.h) and when the marker becomes obsolete. Markers travel
// with the key's full state (anti-entropy repairs, read replies, full deltas) and its snapshot
// record, and are part of its digest, so they spread like the state itself. Internal.
//
//   Initialized (no record): the owner waits until every member holds the marker; each member,
//     on holding it, adds itself to `seen` and takes no more frames from the removed replica, so
//     the owner then holds everything anyone holds of it.
//   Performed (record): the owner pruned. A replica that learns the record cleans its own value
//     with it, and cleans every value of the key it receives from then on. Until every member
//     holds it, the key's changes go out as full states (with the markers), never as deltas:
//     a delta may name the target's dots, which mean nothing to a replica without the record.
//   Obsolete: `obsolete_at_us` (the owner's wall clock at the pruning plus pruning_marker_ttl)
//     passed on this replica's wall clock: the marker is dropped, and any value still holding
//     the removed replica after that would bring it back (as in Akka, the TTL must outlast
//     every partition; a snapshot older than it is not restored).
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

namespace convergent::internal {

struct PruningMarker {
  ReplicaId removed;
  ReplicaId owner;
  std::vector<ReplicaId> seen;             // ascending
  std::optional<PruningRecord> performed;  // set once the owner pruned
  uint64_t obsolete_at_us = 0;             // Performed: when the marker is dropped

  friend bool operator==(const PruningMarker&, const PruningMarker&) = default;
};

// A key's markers, ascending by removed replica, one per replica.
using PruningMarkers = std::vector<PruningMarker>;

// Joins `from` into `into`; true when `into` changed.
bool JoinMarkers(PruningMarkers& into, const PruningMarkers& from);
// Adds `self` to the seen set of every marker; true when one changed.
bool MarkSeen(PruningMarkers& markers, ReplicaId self);
// Drops the Performed markers obsolete at `wall_us`; true when one went.
bool DropObsolete(PruningMarkers& markers, uint64_t wall_us);
// Whether every replica of `members` (ascending) is in the marker's seen set.
bool SeenByAll(const PruningMarker& m, const std::vector<ReplicaId>& members);
// Cleans a value with every Performed record of `markers` whose removed replica it still holds.
void CleanWith(AnyCrdt& value, const PruningMarkers& markers);
// Joins a value with its markers into another of the same type: the markers join, and both
// values are cleaned with every record either side holds before they join.
void JoinWithMarkers(AnyCrdt& into, PruningMarkers& into_markers, AnyCrdt from,
                     const PruningMarkers& from_markers);
// The markers' contribution to the key's digest (0 for none).
uint64_t MarkersDigest(const PruningMarkers& markers);

}  // namespace convergent::internal
