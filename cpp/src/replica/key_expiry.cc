#include "replica/key_expiry.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace convergent::internal {

KeyExpiry::KeyExpiry(KeyStore& store, const ReplicatorOptions& options, ReplicatorMetrics& metrics)
    : store_(store),
      metrics_(metrics),
      ttl_(MicrosOf(options.expire_keys_after_inactivity)),
      interval_(std::clamp<TimeMicros>(ttl_ / 10, 50'000, 60'000'000)) {}

void KeyExpiry::Touch(const std::string& name, TimeMicros t, TimeMicros wall) {
  if (!enabled()) return;
  if (t == 0) {
    if (store_.ActivityOf(name) != 0) return;
    t = wall;
  }
  store_.NoteActivity(name, std::max<TimeMicros>(t, 1));  // 0 means "none"
}

bool KeyExpiry::Admit(const KeyedState& s, TimeMicros wall) {
  if (!enabled() || s.last_active_us == 0) return true;
  const auto active = static_cast<TimeMicros>(
      std::min<uint64_t>(s.last_active_us, std::numeric_limits<TimeMicros>::max() - ttl_));
  if (active + ttl_ > wall || store_.FindKey(s.key) != nullptr) return true;
  ++metrics_.entries_expired;
  return false;
}

void KeyExpiry::Stamp(KeyedState& s) const {
  if (enabled()) s.last_active_us = static_cast<uint64_t>(store_.ActivityOf(s.key));
}

void KeyExpiry::Tick(TimeMicros now, TimeMicros wall) {
  if (!enabled() || now < next_pass_) return;
  next_pass_ = now + interval_;
  std::vector<std::string> expired;
  for (const auto& [name, e] : store_.keys()) {
    const TimeMicros active = store_.ActivityOf(name);
    if (active == 0) {
      expired.push_back(name);  // not noted (restored from before expiry was on): from now
    } else if (active <= wall - ttl_) {
      expired.push_back(name);
    }
  }
  for (const std::string& name : expired) {
    if (store_.ActivityOf(name) == 0) {
      store_.NoteActivity(name, wall);
      continue;
    }
    store_.ExpireKey(name);
    ++metrics_.keys_expired;
  }
}

TimeMicros KeyExpiry::NextDeadline() const {
  return enabled() ? next_pass_ : std::numeric_limits<TimeMicros>::max();
}

}  // namespace convergent::internal
