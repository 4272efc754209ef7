// How much of a frame its entries may fill: batches (delta flushes, datacenter batches) and
// repairs (anti-entropy) stay within the transport's max_frame_size, headers included; and
// BatchBuilder, which splits a batch into such frames.
//
// Thread safety: pure functions; a BatchBuilder belongs to its caller.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>

#include "replica/messages.h"

namespace convergent::internal {

// Bytes of a frame that are not its entries: the frame's own fields, and the headers a node adds
// (its bus header and tag). Batches and repairs fill max_frame_size minus this.
inline constexpr size_t kFrameOverhead = 64;
inline size_t FrameBudget(size_t max_frame_size) {
  return max_frame_size > kFrameOverhead ? max_frame_size - kFrameOverhead : 1;
}
// Upper bounds of an entry's encoded size inside a batch or repair (tags, lengths, flags).
inline size_t EntryBound(const KeyedState& s) {
  size_t markers = 0;
  for (const PruningMarker& m : s.pruning) {  // fixed64s, varints of at most 10 bytes, tags
    markers += 48 + 9 * m.seen.size();
    if (m.performed)
      markers += 32 + 11 * m.performed->moved.size() + 33 * m.performed->folds.size();
  }
  return s.key.size() + s.state.size() + 35 + markers;  // 11: last_active_us
}
inline size_t TombstoneBound(const Tombstone& t) { return t.key.size() + 32 + 21 * t.dots.size(); }

// Splits the entries and tombstones of a batch (a message with both: DeltaBatchMsg, DcBatchMsg)
// into batches that each encode within max_frame_size: a batch goes to `emit` before an entry
// that would take it over. Only an entry that alone is larger makes a larger frame. Each batch
// starts as a copy of `blank` (its other fields).
template <typename Batch>
class BatchBuilder {
 public:
  BatchBuilder(size_t max_frame, std::function<void(Batch)> emit, Batch blank = {})
      : budget_(FrameBudget(max_frame)), emit_(std::move(emit)), blank_(std::move(blank)) {
    batch_ = blank_;
  }
  void Add(KeyedState s) {
    MakeRoom(EntryBound(s));
    batch_.entries.push_back(std::move(s));
  }
  void Add(Tombstone t) {
    MakeRoom(TombstoneBound(t));
    batch_.tombstones.push_back(std::move(t));
  }
  void Finish() {
    if (!batch_.entries.empty() || !batch_.tombstones.empty()) emit_(std::move(batch_));
    batch_ = blank_;
    bytes_ = 0;
  }

 private:
  void MakeRoom(size_t entry) {
    if (bytes_ > 0 && bytes_ + entry > budget_) Finish();
    bytes_ += entry;
  }
  size_t budget_;
  std::function<void(Batch)> emit_;
  Batch blank_;
  Batch batch_;
  size_t bytes_ = 0;
};

}  // namespace convergent::internal
