#define XXH_INLINE_ALL
#include "replica/pruning_marker.h"

#include <xxhash.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace convergent::internal {
namespace {

// The winner of two markers of one removed replica (see the header); nullptr: equal standing,
// the seen sets unite.
const PruningMarker* Winner(const PruningMarker& a, const PruningMarker& b) {
  if (a.performed.has_value() != b.performed.has_value()) return a.performed ? &a : &b;
  if (a.owner != b.owner) return a.owner < b.owner ? &a : &b;
  return nullptr;
}

void UniteSeen(std::vector<ReplicaId>& into, const std::vector<ReplicaId>& from) {
  std::vector<ReplicaId> out;
  out.reserve(into.size() + from.size());
  std::set_union(into.begin(), into.end(), from.begin(), from.end(), std::back_inserter(out));
  into = std::move(out);
}

void Mix(uint64_t& h, uint64_t v) { h = XXH64(&v, sizeof v, h); }

}  // namespace

bool JoinMarkers(PruningMarkers& into, const PruningMarkers& from) {
  bool changed = false;
  for (const PruningMarker& m : from) {
    auto it = std::lower_bound(into.begin(), into.end(), m.removed,
                               [](const PruningMarker& x, ReplicaId r) { return x.removed < r; });
    if (it == into.end() || it->removed != m.removed) {
      into.insert(it, m);
      changed = true;
      continue;
    }
    const PruningMarker* w = Winner(*it, m);
    if (w == &m) {
      *it = m;
      changed = true;
    } else if (w == nullptr) {
      const size_t before = it->seen.size();
      UniteSeen(it->seen, m.seen);
      if (it->seen.size() != before) changed = true;
    }
  }
  return changed;
}

bool MarkSeen(PruningMarkers& markers, ReplicaId self) {
  bool changed = false;
  for (PruningMarker& m : markers) {
    if (m.performed) continue;
    auto at = std::lower_bound(m.seen.begin(), m.seen.end(), self);
    if (at != m.seen.end() && *at == self) continue;
    m.seen.insert(at, self);
    changed = true;
  }
  return changed;
}

bool SeenByAll(const PruningMarker& m, const std::vector<ReplicaId>& members) {
  return std::includes(m.seen.begin(), m.seen.end(), members.begin(), members.end());
}

void CleanWith(AnyCrdt& value, const PruningMarkers& markers) {
  for (const PruningMarker& m : markers) {
    if (m.performed && value.NeedsPruningFrom(m.removed)) value.PruningCleanup(*m.performed);
  }
}

void JoinWithMarkers(AnyCrdt& into, PruningMarkers& into_markers, AnyCrdt from,
                     const PruningMarkers& from_markers) {
  JoinMarkers(into_markers, from_markers);
  CleanWith(into, into_markers);
  CleanWith(from, into_markers);
  into.Join(from);
}

uint64_t MarkersDigest(const PruningMarkers& markers) {
  uint64_t h = 0;
  for (const PruningMarker& m : markers) {
    if (m.performed) continue;
    if (h == 0) h = 0x9a4e'7b1c'0d5f'3e21ull;
    Mix(h, m.removed.value);
    Mix(h, m.owner.value);
    Mix(h, m.seen.size());
    for (ReplicaId r : m.seen) Mix(h, r.value);
  }
  return h;
}

}  // namespace convergent::internal
