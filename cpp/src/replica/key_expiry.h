// KeyExpiry: a replicator's side of expire_keys_after_inactivity (Akka 2.8's
// expire-keys-after-inactivity; docs/concepts.md, "Key expiry"). Every live key carries its
// activity: the wall-clock time of its latest update on any replica. Updates stamp it, every key
// state sent to a peer carries it, and replicas join it by taking the latest (it counts in the
// key's digest, so anti-entropy repairs it as it repairs values). A pass removes the keys inactive
// for the configured time (no tombstone: an update creates the key again, empty) and tells their
// subscribers (kExpired). Replicas agree on the activity, so they expire a key at the same time
// up to the skew of their wall clocks; a state that arrives already expired, of a key not held
// here, is dropped (counted), so a replica that is late in expiring cannot bring the key back.
// Off (every call a no-op) when expire_keys_after_inactivity is 0.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <string>

#include "convergent/replicator.h"
#include "replica/key_store.h"
#include "replica/messages.h"

namespace convergent::internal {

class KeyExpiry {
 public:
  KeyExpiry(KeyStore& store, const ReplicatorOptions& options, ReplicatorMetrics& metrics);

  bool enabled() const { return ttl_ > 0; }
  // An update of a live key at `wall` (here, or `t` as a peer stamped it; 0: not told, taken
  // as `wall` for a key that has none yet).
  void Touch(const std::string& name, TimeMicros t, TimeMicros wall);
  // Whether a peer's state of `s.key` is to be joined: false for a key not held here whose
  // activity is older than the expiry (counted).
  bool Admit(const KeyedState& s, TimeMicros wall);
  // Stamps a state going to a peer with the key's activity.
  void Stamp(KeyedState& s) const;

  // The pass, when due: expires the inactive keys.
  void Tick(TimeMicros now, TimeMicros wall);
  TimeMicros NextDeadline() const;

 private:
  KeyStore& store_;
  ReplicatorMetrics& metrics_;
  TimeMicros ttl_;
  TimeMicros interval_;  // between passes: a tenth of the expiry, within [0.05 s, 60 s]
  TimeMicros next_pass_ = 0;
};

}  // namespace convergent::internal
