#include "replica/stale_restore.h"

#include <algorithm>
#include <iterator>

#include "convergent/crdt/pruning.h"

namespace convergent::internal {

bool StaleRestore::IsStale(uint64_t written_at_us, TimeMicros wall_now,
                           const ReplicatorOptions& o) {
  if (written_at_us == 0) return false;  // written before snapshots were stamped
  const TimeMicros trusted = MicrosOf(o.pruning_marker_ttl - o.max_pruning_dissemination);
  return wall_now - static_cast<TimeMicros>(written_at_us) >= trusted;
}

void StaleRestore::SetAside(std::string name, AnyCrdt value, TimeMicros last_active) {
  aside_.insert_or_assign(std::move(name), Aside{std::move(value), last_active, false, {}});
  ++metrics_.stale_snapshot_keys;
}

void StaleRestore::NoteShown(const std::string& name, const AnyCrdt& state) {
  auto it = aside_.find(name);
  if (it == aside_.end()) return;
  Aside& a = it->second;
  a.shown = true;
  std::vector<ReplicaId> more = state.ModifiedBy();
  std::vector<ReplicaId> held;
  held.reserve(a.held.size() + more.size());
  std::set_union(a.held.begin(), a.held.end(), more.begin(), more.end(), std::back_inserter(held));
  a.held = std::move(held);
}

std::vector<StaleRestore::Returned> StaleRestore::TakeExpired(
    TimeMicros now, const std::vector<ReplicaId>& members) {
  std::vector<Returned> out;
  if (aside_.empty() || until_ == 0 || now < until_) return out;
  out.reserve(aside_.size());
  for (auto& [name, a] : aside_) {
    if (!a.shown) {
      ++metrics_.stale_snapshot_keys_whole;
    } else {
      ++metrics_.stale_snapshot_keys_cleaned;
      for (ReplicaId r : a.value.ModifiedBy()) {
        const bool kept = std::binary_search(a.held.begin(), a.held.end(), r) ||
                          std::any_of(members.begin(), members.end(),
                                      [&](ReplicaId m) { return m == r || PruningTarget(m) == r; });
        if (kept) continue;
        a.value.PruningCleanup(PruningRecord::Forgetting(r));
        ++metrics_.stale_snapshot_replicas_forgotten;
      }
    }
    out.push_back(Returned{name, std::move(a.value), a.last_active, a.shown});
  }
  aside_.clear();
  return out;
}

}  // namespace convergent::internal
