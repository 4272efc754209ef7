#include "convergent/crdt/gcounter.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace convergent {
namespace {

template <typename Slots>  // GCounter::Slots, const or not
auto FindSlot(Slots& s, ReplicaId r) {
  return std::lower_bound(s.begin(), s.end(), r,
                          [](const GCounter::Slot& e, ReplicaId id) { return e.first < id; });
}

}  // namespace

uint64_t GCounter::AddToSlot(ReplicaId replica, uint64_t n) {
  auto it = FindSlot(slots_, replica);
  if (it == slots_.end() || it->first != replica) it = slots_.insert(it, {replica, 0});
  if (it->second > std::numeric_limits<uint64_t>::max() - n) {
    if (it->second == 0) slots_.erase(it);
    throw std::overflow_error("counter slot of a replica would exceed 2^64-1");
  }
  it->second += n;
  return it->second;
}

// The deltas are built in place from the new count: copying a slot (or a whole delta) right
// after writing it stalls on store-to-load forwarding, which was most of W3's increment time.
GCounter GCounter::Increment(ReplicaId replica, uint64_t n) {
  GCounter delta;
  if (n != 0) delta.slots_.emplace_back(replica, AddToSlot(replica, n));
  return delta;
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

PNCounter PNCounter::Increment(ReplicaId replica, uint64_t n) {
  PNCounter delta;
  if (n != 0) delta.p_.slots_.emplace_back(replica, p_.AddToSlot(replica, n));
  return delta;
}

PNCounter PNCounter::Decrement(ReplicaId replica, uint64_t n) {
  PNCounter delta;
  if (n != 0) delta.n_.slots_.emplace_back(replica, n_.AddToSlot(replica, n));
  return delta;
}

}  // namespace convergent
