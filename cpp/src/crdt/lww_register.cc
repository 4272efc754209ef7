#include "convergent/crdt/lww_register.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace convergent {

LWWRegister LWWRegister::Set(ReplicaId replica, Value v, uint64_t clock) {
  if (timestamp_ == std::numeric_limits<uint64_t>::max()) {
    throw std::overflow_error("LWWRegister: no timestamp after 2^64-1 for a later write");
  }
  timestamp_ = std::max(clock, timestamp_ + 1);
  replica_ = replica;
  value_ = std::move(v);
  return *this;
}

LWWRegister LWWRegister::FromParts(Value v, uint64_t timestamp, ReplicaId replica) {
  LWWRegister r;
  r.value_ = std::move(v);
  r.timestamp_ = timestamp;
  r.replica_ = replica;
  return r;
}

}  // namespace convergent
