#include "convergent/crdt/map_entry.h"

#include <algorithm>

namespace convergent {
namespace {

MapEntry::Store EmptyStoreFor(CrdtType t) {
  switch (t) {
    case CrdtType::kGCounter:
    case CrdtType::kPNCounter:
      return CounterStore();
    case CrdtType::kLWWRegister:
      return RegisterStore();
    case CrdtType::kMVRegister:
      return MultiValueStore();
    case CrdtType::kORSet:
    case CrdtType::kGSet:
      return SetStore();
    case CrdtType::kFlag:
      return FlagStore();
    default:
      break;
  }
  // Callers check IsNestable first: reaching this is a programmer error.
  std::abort();
}

}  // namespace

bool IsNestable(CrdtType t) {
  switch (t) {
    case CrdtType::kGCounter:
    case CrdtType::kPNCounter:
    case CrdtType::kLWWRegister:
    case CrdtType::kMVRegister:
    case CrdtType::kORSet:
    case CrdtType::kGSet:
    case CrdtType::kFlag:
      return true;
    default:
      return false;
  }
}

const MapEntry::Part* MapEntry::Find(CrdtType t) const {
  for (const Part& p : parts_) {
    if (p.type == t) return &p;
  }
  return nullptr;
}

MapEntry::Part& MapEntry::FindOrAdd(CrdtType t) {
  auto it = std::lower_bound(parts_.begin(), parts_.end(), t,
                             [](const Part& p, CrdtType x) { return p.type < x; });
  if (it != parts_.end() && it->type == t) return *it;
  return *parts_.insert(it, Part{t, EmptyStoreFor(t)});
}

void MapEntry::Prune() {
  auto kept = std::remove_if(parts_.begin(), parts_.end(), [](const Part& p) {
    return std::visit([](const auto& s) { return s.empty(); }, p.store);
  });
  parts_.erase(kept, parts_.end());
}

}  // namespace convergent
