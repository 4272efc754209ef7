#include "convergent/crdt/lww_register.h"

#include <stdexcept>

namespace convergent {

void ThrowLWWTimestampOverflow() {
  throw std::overflow_error("LWWRegister: no timestamp after 2^64-1 for a later write");
}

}  // namespace convergent
