#include "convergent/crdt/gcounter.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace convergent {
void GCounter::ThrowOverflow() {
  throw std::overflow_error("counter slot of a replica would exceed 2^64-1");
}

void GCounter::Join(const GCounter& other) {
  if (other.slots_.size() == 1) {  // the common delta: one slot, joined in place
    const Slot& o = other.slots_.front();
    auto it = FindSlot(slots_, o.first);
    if (it != slots_.end() && it->first == o.first) {
      it->second = std::max(it->second, o.second);
    } else {
      slots_.insert(it, o);
    }
    return;
  }
  Slots merged;
  merged.reserve(slots_.size() + other.slots_.size());
  auto a = slots_.cbegin();
  auto b = other.slots_.cbegin();
  while (a != slots_.end() || b != other.slots_.end()) {
    if (b == other.slots_.end() || (a != slots_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == slots_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, std::max(a->second, b->second));
      ++a, ++b;
    }
  }
  slots_ = std::move(merged);
}

uint64_t GCounter::value() const {
  uint64_t sum = 0;
  for (const auto& s : slots_) sum += s.second;
  return sum;
}

uint64_t GCounter::SlotOf(ReplicaId replica) const {
  auto it = FindSlot(slots_, replica);
  return it != slots_.end() && it->first == replica ? it->second : 0;
}

void GCounter::EraseSlot(ReplicaId replica) {
  auto it = FindSlot(slots_, replica);
  if (it != slots_.end() && it->first == replica) slots_.erase(it);
}

std::vector<ReplicaId> GCounter::ModifiedBy() const {
  std::vector<ReplicaId> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(s.first);
  return out;
}

std::vector<ReplicaId> PNCounter::ModifiedBy() const {
  const std::vector<ReplicaId> p = p_.ModifiedBy();
  const std::vector<ReplicaId> n = n_.ModifiedBy();
  std::vector<ReplicaId> out;
  out.reserve(p.size() + n.size());
  std::set_union(p.begin(), p.end(), n.begin(), n.end(), std::back_inserter(out));
  return out;
}

std::optional<PruningRecord> GCounter::Prune(ReplicaId removed, ReplicaId into) {
  const uint64_t moved = SlotOf(removed);
  if (moved != 0 && removed != into) {
    if (SlotOf(into) > UINT64_MAX - moved) return std::nullopt;
    AddToSlot(into, moved);
    EraseSlot(removed);
  }
  return PruningRecord{removed, into, 0, {}, {}};
}

std::optional<PruningRecord> PNCounter::Prune(ReplicaId removed, ReplicaId into) {
  if (p_.SlotOf(into) > UINT64_MAX - p_.SlotOf(removed) ||
      n_.SlotOf(into) > UINT64_MAX - n_.SlotOf(removed)) {
    return std::nullopt;
  }
  p_.Prune(removed, into);
  n_.Prune(removed, into);
  return PruningRecord{removed, into, 0, {}, {}};
}

Result<GCounter> GCounter::FromSlots(std::vector<Slot> slots) {
  std::sort(slots.begin(), slots.end());
  GCounter c;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (i > 0 && slots[i].first == slots[i - 1].first) {
      return Status::Corruption("GCounter: a replica appears twice");
    }
    if (slots[i].second != 0) c.slots_.push_back(slots[i]);
  }
  return c;
}

}  // namespace convergent
