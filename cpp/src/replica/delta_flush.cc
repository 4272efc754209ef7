#include "replica/delta_flush.h"

#include <limits>
#include <utility>

#include "convergent/codec.h"
#include "replica/frame_budget.h"

namespace convergent::internal {

DeltaFlush::DeltaFlush(KeyStore& store, const ReplicatorOptions& options,
                       ReplicatorMetrics& metrics)
    : store_(store), options_(options), metrics_(metrics), interval_(1) {}

void DeltaFlush::AddDelta(const std::string& name, KeyEntry& e, AnyCrdt&& delta, TimeMicros now) {
  if (e.pending != kNoPending) {
    pending_[e.pending].delta->Join(delta);
    return;
  }
  if (pending_.empty()) next_flush_ = now + interval_;
  e.pending = static_cast<uint32_t>(pending_.size());
  pending_.push_back(Pending{name, std::move(delta)});
}

void DeltaFlush::AddTombstone(const std::string& name, TimeMicros now) {
  if (pending_.empty()) next_flush_ = now + interval_;
  pending_.push_back(Pending{name, std::nullopt});
}

void DeltaFlush::Tick(TimeMicros now, bool have_peers,
                      const std::function<bool(const std::string&)>& whole,
                      const std::function<void(DeltaBatchMsg)>& send) {
  if (now < next_flush_) return;
  next_flush_ = now + interval_;
  BatchBuilder<DeltaBatchMsg> batches(options_.max_frame_size, send);
  for (uint32_t i = 0; i < pending_.size(); ++i) {
    const std::string& name = pending_[i].name;
    if (KeyEntry* e = store_.FindKey(name); pending_[i].delta && e != nullptr && e->pending == i) {
      if (have_peers) {
        const bool with_markers = whole(name);
        std::string bytes = with_markers ? std::string() : EncodeAny(*pending_[i].delta);
        bool full = with_markers;
        if (full) {
          bytes = EncodeAny(e->value);
        } else if (bytes.size() > options_.max_delta_size &&
                   store_.LargeSize(name) < bytes.size()) {
          // A large delta goes as the full state when that is not larger (removes can outweigh
          // a small state). A key's state known to be larger is not encoded again: sending it
          // instead of each large delta made a large key's writes cost its whole size.
          std::string state = EncodeAny(e->value);
          store_.NoteEncodedSize(name, state.size());
          if (state.size() <= bytes.size()) {
            bytes = std::move(state);
            full = true;
          }
        }
        ++metrics_.delta_publish_count;
        KeyedState s{name, std::move(bytes), full, {}, 0};
        if (const PruningMarkers* m = store_.MarkersOf(name); m != nullptr && full) s.pruning = *m;
        batches.Add(std::move(s));
      }
      e->pending = kNoPending;
      e->unpublished = false;  // its digest goes into the tree at the next refresh
    } else if (TombstoneEntry* t = store_.FindTombstone(name); t != nullptr && t->pending) {
      t->pending = false;
      if (have_peers) batches.Add(KeyStore::ToTombstone(name, *t));
    }
  }
  batches.Finish();
  ReleaseIfLarge(pending_);
}

TimeMicros DeltaFlush::NextDeadline() const {
  return pending_.empty() ? std::numeric_limits<TimeMicros>::max() : next_flush_;
}

}  // namespace convergent::internal
