// StaleRestore: the keys of a snapshot restored after its peers may have let go of prunings it
// never learned of (docs/concepts.md, "Removed replicas").
//
// A pruning's markers live pruning_marker_ttl on each replica. A snapshot last written longer
// ago than pruning_marker_ttl less max_pruning_dissemination (the time a record takes to reach
// a replica that is up) may hold slots and dots of replicas pruned since, and no peer still
// holds the record that would clean them: joined as they are, a counter would count them twice
// (they are in the pruning target too) and a set would bring back elements removed since. So
// the replicator sets such a snapshot's keys aside instead of loading them, and waits: two
// anti-entropy intervals from the first round a peer starts with it (a node cut off from its
// peers keeps its keys aside, and its snapshot its old stamp, until it meets one; a node without
// seeds, which may be alone, waits max_pruning_dissemination at most). Meanwhile
// the peers' full states of those keys arrive (anti-entropy sends them: the keys are missing
// here) and join the store as usual, and the replicas each one holds are noted. Then:
//
// - A key some peer showed comes back without the replicas that no peer showed and that are
//   not a current member's (or a member's pruning target): those were pruned while the node
//   was away. A replica one peer still holds is kept, so a peer that lags (or a wall clock
//   stepped forward, which makes a recent snapshot look old) costs nothing: what a silent peer
//   holds joins when it is heard again.
// - A key no peer showed comes back whole: nobody holds a newer copy (the whole cluster
//   restarted from its snapshots, or the key was written here only).
//
// What is lost, and only with a snapshot this old: writes of the node's earlier incarnations
// that had reached no peer before it stopped (a pruning drops them too, within the time to
// live), and removes it made alone of elements whose dots a pruning moved.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "convergent/crdt/any_crdt.h"
#include "convergent/replicator.h"
#include "replica/key_store.h"

namespace convergent::internal {

class StaleRestore {
 public:
  explicit StaleRestore(ReplicatorMetrics& metrics) : metrics_(metrics) {}

  // Whether a snapshot written at `written_at_us` (wall clock, 0: not known) and restored at
  // `wall_now` may hold replicas pruned since.
  static bool IsStale(uint64_t written_at_us, TimeMicros wall_now, const ReplicatorOptions& o);

  // A key of a stale snapshot, with its latest activity (expiring keys only).
  void SetAside(std::string name, AnyCrdt value, TimeMicros last_active);
  size_t size() const { return aside_.size(); }

  // A peer's full state of a key (set aside or not).
  void NoteShown(const std::string& name, const AnyCrdt& state);
  // A peer started an anti-entropy round with this node: the wait ends `wait` from now (or
  // earlier, if it was to end earlier).
  void HeardFrom(TimeMicros now, TimeMicros wait) {
    if (heard_) return;
    heard_ = true;
    const TimeMicros end = std::max<TimeMicros>(now + wait, 1);
    until_ = until_ == 0 ? end : std::min(until_, end);
  }
  // A node without seeds may be alone: unless a peer is heard first, the wait ends `wait` from
  // the first call.
  void WaitAlone(TimeMicros now, TimeMicros wait) {
    if (until_ == 0) until_ = std::max<TimeMicros>(now + wait, 1);
  }

  struct Returned {
    std::string name;
    AnyCrdt value;
    TimeMicros last_active;
    bool shown;  // some peer showed the key (else it comes back whole)
  };
  // Once the wait is over, every key set aside, made fit to join (see above) with `members`
  // (ascending) and their pruning targets taken as live.
  std::vector<Returned> TakeExpired(TimeMicros now, const std::vector<ReplicaId>& members);
  // When the wait is over (the maximum TimeMicros: no wait running).
  TimeMicros NextDeadline() const {
    return aside_.empty() || until_ == 0 ? std::numeric_limits<TimeMicros>::max() : until_;
  }

 private:
  struct Aside {
    AnyCrdt value;
    TimeMicros last_active = 0;
    bool shown = false;
    std::vector<ReplicaId> held;  // by the peers' states shown, ascending
  };
  ReplicatorMetrics& metrics_;
  std::unordered_map<std::string, Aside, NameHash> aside_;
  bool heard_ = false;
  TimeMicros until_ = 0;  // 0: the wait has not started
};

}  // namespace convergent::internal
