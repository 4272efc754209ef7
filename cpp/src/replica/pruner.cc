#include "replica/pruner.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {

Pruner::Pruner(KeyStore& store, const ReplicatorOptions& options, ReplicaId self,
               ReplicatorMetrics& metrics)
    : store_(store), options_(options), self_(self), metrics_(metrics) {}

void Pruner::SetMembers(std::vector<ReplicaId> members) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  members_ = std::move(members);
}

void Pruner::Remove(ReplicaId removed, TimeMicros now) {
  if (removed != self_) removed_.emplace(removed, now);
}

void Pruner::Observe(const PruningMarkers& markers, TimeMicros now) {
  for (const PruningMarker& m : markers) Remove(m.removed, now);
}

bool Pruner::NeedsFullState(const std::string& name) const {
  const PruningMarkers* markers = store_.MarkersOf(name);
  if (markers == nullptr) return false;
  return std::any_of(markers->begin(), markers->end(), [&](const PruningMarker& m) {
    return m.performed && !SeenByAll(m, members_);
  });
}

void Pruner::Tick(TimeMicros now, TimeMicros wall) {
  if (now < next_pass_) return;
  next_pass_ = now + MicrosOf(options_.pruning_interval);
  const uint64_t wall_us = static_cast<uint64_t>(std::max<TimeMicros>(wall, 0));
  const bool members_known = !members_.empty();
  // Markers: drop the obsolete ones; prune where this replica owns a marker everyone holds.
  std::vector<std::string> names;
  names.reserve(store_.markers().size());
  for (const auto& [name, m] : store_.markers()) names.push_back(name);
  for (const std::string& name : names) {
    PruningMarkers markers = *store_.MarkersOf(name);
    bool changed = DropObsolete(markers, wall_us);
    KeyEntry* e = store_.FindKey(name);
    for (PruningMarker& m : markers) {
      if (m.performed || m.owner != self_ || !members_known || !SeenByAll(m, members_)) continue;
      std::optional<PruningRecord> record = e->value.Prune(m.removed, PruningTarget(self_));
      if (!record) continue;  // the value must wait (see convergent/crdt/pruning.h)
      m.performed = std::move(record);
      m.seen = {self_};
      m.obsolete_at_us = wall_us + static_cast<uint64_t>(MicrosOf(options_.pruning_marker_ttl));
      ++metrics_.prunings_performed;
      store_.MarkChanged(name, *e, std::nullopt);
      changed = true;
    }
    if (changed) store_.SetMarkers(name, std::move(markers));
  }
  // Forget removed replicas once no marker could still name them.
  const TimeMicros keep = MicrosOf(options_.max_pruning_dissemination + options_.pruning_marker_ttl);
  std::erase_if(removed_, [&](const auto& r) { return now - r.second > keep; });
  if (!leader_ || !members_known) return;
  // The leader starts prunings of the replicas removed long enough ago.
  const TimeMicros settle = MicrosOf(options_.max_pruning_dissemination);
  for (const auto& entry : removed_) {
    const ReplicaId removed = entry.first;
    if (now - entry.second < settle) continue;
    for (const auto& [name, e] : store_.keys()) {
      if (!e.value.NeedsPruningFrom(removed)) continue;
      const PruningMarkers* held = store_.MarkersOf(name);
      PruningMarkers markers = held != nullptr ? *held : PruningMarkers{};
      if (std::any_of(markers.begin(), markers.end(),
                      [&](const PruningMarker& m) { return m.removed == removed; })) {
        continue;
      }
      JoinMarkers(markers, {PruningMarker{removed, self_, {self_}, std::nullopt, 0}});
      ++metrics_.prunings_started;
      store_.SetMarkers(name, std::move(markers));
    }
  }
}

}  // namespace convergent::internal
