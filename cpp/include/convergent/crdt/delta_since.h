// CausalDeltaSince: the part of a causal state (a dot store and its context: ORSet, MVRegister,
// the maps) that another replica lacks, computed from nothing but that replica's context
// `seen`: delta-state anti-entropy (Almeida, Shoker, Baquero, "Delta state replicated data
// types", 2018). For a state (s, c):
//   store     the entries of s whose dots `seen` lacks (adds it never saw);
//   context   the dots of c that `seen` lacks, and the dots of c that `seen` has and s no longer
//             holds (removed here: the other replica may still hold them).
// Joined into any state whose context is `seen`, the delta gives exactly what joining (s, c)
// gives; it is a part of (s, c) (joining it into (s, c) changes nothing), so a `seen` that is
// wrong or hostile can only make the delta larger or smaller, never make a join wrong.
//
// The removed dots are listed one by one, and a state that removed many (a counter in a map
// moves its dot at every increment; a register at every write) would send more than its whole
// state: nullopt when the dots to list are more than twice the entries `seen` already has, plus
// kCausalDeltaSlack. The caller then sends the whole state.
//
// Thread safety: a pure function of its arguments.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"

namespace convergent {

inline constexpr uint64_t kCausalDeltaSlack = 64;

template <typename Store>
std::optional<std::pair<Store, CausalContext>> CausalDeltaSince(const Store& store,
                                                                const CausalContext& ctx,
                                                                const CausalContext& seen) {
  std::vector<Dot> held_seen;  // the store's dots that `seen` has: not sent
  uint64_t fresh = 0;          // the store's dots that `seen` lacks: sent
  Store part = store.Filtered([&](const Dot& d) {
    if (seen.Contains(d)) {
      held_seen.push_back(d);
      return false;
    }
    ++fresh;
    return true;
  });
  // Every store dot is in ctx, so the dots of ctx the store does not hold are the removed ones.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t all = ctx.DotCount();
  const uint64_t in = ctx.CountIn(seen);
  if (all == kMax || in < held_seen.size() || all - in < fresh) return std::nullopt;
  const uint64_t removed = (in - held_seen.size()) + (all - in - fresh);
  if (removed > 2 * static_cast<uint64_t>(held_seen.size()) + kCausalDeltaSlack) {
    return std::nullopt;
  }
  // Gathered, then recorded in ascending order: each dot then extends a range or ends the cloud.
  std::vector<Dot> dots;
  dots.reserve(static_cast<size_t>(fresh + removed));
  ctx.ForEachDotNotIn(seen, [&](const Dot& d) { dots.push_back(d); });
  if (in != held_seen.size()) {
    std::sort(held_seen.begin(), held_seen.end());
    ctx.ForEachDotIn(seen, [&](const Dot& d) {
      if (!std::binary_search(held_seen.begin(), held_seen.end(), d)) dots.push_back(d);
    });
  }
  std::sort(dots.begin(), dots.end());
  CausalContext part_ctx;
  for (const Dot& d : dots) part_ctx.Insert(d);
  return std::make_pair(std::move(part), std::move(part_ctx));
}

}  // namespace convergent
