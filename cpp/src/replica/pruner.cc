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
  if (removed == self_) return;
  removed_.emplace(removed, now);
  // What the removed replica pruned into goes with it (into the next owner's target).
  removed_.emplace(PruningTarget(removed), now);
}

void Pruner::Admit(PruningMarkers& markers, TimeMicros now) {
  std::erase_if(markers, [&](const PruningMarker& m) {
    return retired_.count(m.removed) != 0 || (!m.performed && IsRemoved(m.owner));
  });
  for (PruningMarker& m : markers) {
    Remove(m.removed, now);
    if (m.performed && m.learned_at == 0) m.learned_at = std::max<TimeMicros>(now, 1);
  }
}

bool Pruner::NeedsFullState(const std::string& name, TimeMicros now) const {
  const PruningMarkers* markers = store_.MarkersOf(name);
  if (markers == nullptr) return false;
  const TimeMicros fresh = MicrosOf(options_.max_pruning_dissemination);
  return std::any_of(markers->begin(), markers->end(), [&](const PruningMarker& m) {
    return m.performed && now - m.learned_at < fresh;
  });
}

bool Pruner::Pass(const std::string& name, PruningMarkers& markers, TimeMicros now) {
  bool changed = false;
  const TimeMicros ttl = MicrosOf(options_.pruning_marker_ttl);
  for (auto it = markers.begin(); it != markers.end();) {
    if (it->performed && now - it->learned_at >= ttl) {  // held long enough: let it go
      retired_.emplace(it->removed, now);
      it = markers.erase(it);
      changed = true;
    } else if (!it->performed && IsRemoved(it->owner)) {  // its owner is gone: start again
      if (leader_) {
        *it = PruningMarker{it->removed, self_, {self_}, std::nullopt, 0};
        ++it;
      } else {
        it = markers.erase(it);
      }
      changed = true;
    } else {
      ++it;
    }
  }
  KeyEntry* e = store_.FindKey(name);
  if (e == nullptr || members_.empty()) return changed;
  for (PruningMarker& m : markers) {
    if (m.performed || m.owner != self_ || !SeenByAll(m, members_)) continue;
    std::optional<PruningRecord> record = e->value.Prune(m.removed, PruningTarget(self_));
    if (!record) continue;  // the value must wait (see convergent/crdt/pruning.h)
    m.performed = std::move(record);
    m.learned_at = std::max<TimeMicros>(now, 1);
    ++metrics_.prunings_performed;
    store_.MarkChanged(name, *e, std::nullopt);
    changed = true;
  }
  return changed;
}

void Pruner::Tick(TimeMicros now) {
  if (now < next_pass_) return;
  next_pass_ = now + MicrosOf(options_.pruning_interval);
  std::vector<std::string> names;
  names.reserve(store_.markers().size());
  for (const auto& [name, m] : store_.markers()) names.push_back(name);
  for (const std::string& name : names) {
    PruningMarkers markers = *store_.MarkersOf(name);
    if (Pass(name, markers, now)) store_.SetMarkers(name, std::move(markers));
  }
  // Forget removed replicas once no marker could still name them, and retired records after
  // as long again.
  const TimeMicros keep =
      MicrosOf(options_.max_pruning_dissemination + options_.pruning_marker_ttl);
  std::erase_if(removed_, [&](const auto& r) { return now - r.second > 2 * keep; });
  std::erase_if(retired_, [&](const auto& r) { return now - r.second > 2 * keep; });
  if (!leader_ || members_.empty()) return;
  // The leader starts prunings of the replicas removed long enough ago.
  const TimeMicros settle = MicrosOf(options_.max_pruning_dissemination);
  for (const auto& entry : removed_) {
    const ReplicaId removed = entry.first;
    if (now - entry.second < settle || retired_.count(removed) != 0) continue;
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
