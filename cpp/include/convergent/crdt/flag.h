// Flag: a boolean that starts false and, once enabled, stays enabled (join is "or").
//
// Thread safety: none; use from one thread at a time.
#pragma once

namespace convergent {

class Flag {
 public:
  Flag Enable() {
    enabled_ = true;
    return Flag(true);
  }
  void Join(const Flag& other) { enabled_ = enabled_ || other.enabled_; }
  bool enabled() const { return enabled_; }
  bool empty() const { return !enabled_; }

  Flag() = default;
  explicit Flag(bool enabled) : enabled_(enabled) {}
  friend bool operator==(const Flag&, const Flag&) = default;

 private:
  bool enabled_ = false;
};

}  // namespace convergent
