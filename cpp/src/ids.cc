#include "convergent/ids.h"

#include <cstdio>

namespace convergent {

ReplicaId ReplicaId::FromName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return ReplicaId{h};
}

std::string ReplicaId::ToString() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace convergent
