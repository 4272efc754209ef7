// The writer arguments of mutators from Python: `replica=` (every mutator and constructor) and
// `timestamp=` (LWW writes).
//   str -> ReplicaId::FromName(name) (a stable 64-bit hash; must not be empty)
//   int -> ReplicaId{int} (0 <= id < 2**64, else ValueError)
//   None -> the replica the value was bound to at construction (ValueError if unbound)
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>

#include "convergent/ids.h"

namespace convergent::bindings {

// The replica named by `arg`, or nullopt for None. Other types raise TypeError.
std::optional<ReplicaId> ParseReplica(pybind11::handle arg);

// The replica a mutation runs as: `arg` if given, else `bound`, else ValueError naming
// "<type_name>.<method>" and telling the caller to pass replica=.
ReplicaId ResolveReplica(pybind11::handle arg, const std::optional<ReplicaId>& bound,
                         const char* type_name, const char* method);

// A writer's clock in microseconds: `timestamp` (an int, 0 <= t < 2**64) or, when None, the
// clock of the update being run on this thread (see UpdateClock), else the wall clock now.
// Errors name `where`, e.g. "LWWMap.put()".
uint64_t ClockMicros(pybind11::handle timestamp, const char* where);

// While alive, ClockMicros(None) on this thread returns `micros` (the time of a replicator
// update, virtual in a simulation). Scopes do not nest: the previous clock is restored.
class UpdateClock {
 public:
  explicit UpdateClock(std::optional<uint64_t> micros);
  ~UpdateClock();
  UpdateClock(const UpdateClock&) = delete;
  UpdateClock& operator=(const UpdateClock&) = delete;

 private:
  std::optional<uint64_t> previous_;
};

}  // namespace convergent::bindings
