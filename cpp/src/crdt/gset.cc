#include "convergent/crdt/gset.h"

#include <algorithm>

namespace convergent {

GSet GSet::Add(Value v) {
  GSet delta;
  delta.elements_.insert(v);
  elements_.insert(std::move(v));
  return delta;
}

std::vector<Value> GSet::Elements() const {
  std::vector<Value> out(elements_.begin(), elements_.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace convergent
