// Identifiers of replicas and of events: ReplicaId (64-bit, unique per incarnation of a node) and
// Dot (a replica's n-th event). Dots are what causal CRDTs tag their elements with.
//
// Thread safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace convergent {

struct ReplicaId {
  uint64_t value = 0;

  // A stable id derived from a name (64-bit FNV-1a, the same on every platform and release), for
  // standalone values mutated "as replica A". Real nodes draw a random id per incarnation instead.
  static ReplicaId FromName(std::string_view name);
  std::string ToString() const;  // 16 hex digits

  auto operator<=>(const ReplicaId&) const = default;
};

struct Dot {
  ReplicaId replica;
  uint64_t counter = 0;  // 1-based: the first event of a replica is counter 1

  auto operator<=>(const Dot&) const = default;
};

}  // namespace convergent

template <>
struct std::hash<convergent::ReplicaId> {
  size_t operator()(const convergent::ReplicaId& r) const noexcept {
    return std::hash<uint64_t>()(r.value);
  }
};

template <>
struct std::hash<convergent::Dot> {
  size_t operator()(const convergent::Dot& d) const noexcept {
    uint64_t h = d.replica.value * 0x9E3779B97F4A7C15ull ^ d.counter;
    h ^= h >> 29;
    return static_cast<size_t>(h * 0xBF58476D1CE4E5B9ull);
  }
};
