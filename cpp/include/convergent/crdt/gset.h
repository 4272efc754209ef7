// GSet: the grow-only set. Add returns its delta (a GSet of the one element); join is union.
//
// Thread safety: none; use from one thread at a time.
#pragma once

#include <unordered_set>
#include <vector>

#include "convergent/value.h"

namespace convergent {

class GSet {
 public:
  GSet Add(Value v);
  void Join(const GSet& other) {
    if (&other != this) elements_.insert(other.elements_.begin(), other.elements_.end());
  }

  bool Contains(const Value& v) const { return elements_.count(v) != 0; }
  size_t size() const { return elements_.size(); }
  bool empty() const { return elements_.empty(); }
  std::vector<Value> Elements() const;  // canonical (byte) order

  friend bool operator==(const GSet&, const GSet&) = default;

 private:
  std::unordered_set<Value> elements_;
};

}  // namespace convergent
