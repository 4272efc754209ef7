// How much of a frame its entries may fill: batches (delta flushes) and repairs (anti-entropy)
// stay within the transport's max_frame_size, headers included.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>

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

}  // namespace convergent::internal
