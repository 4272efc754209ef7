// Replica ids from Python: the `replica=` argument of every mutator and constructor.
//   str -> ReplicaId::FromName(name) (a stable 64-bit hash; must not be empty)
//   int -> ReplicaId{int} (0 <= id < 2**64, else ValueError)
//   None -> the replica the value was bound to at construction (ValueError if unbound)
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "convergent/ids.h"

namespace convergent::bindings {

// The replica named by `arg`, or nullopt for None. Other types raise TypeError.
std::optional<ReplicaId> ParseReplica(pybind11::handle arg);

// The replica a mutation runs as: `arg` if given, else `bound`, else ValueError naming
// "<type_name>.<method>" and telling the caller to pass replica=.
ReplicaId ResolveReplica(pybind11::handle arg, const std::optional<ReplicaId>& bound,
                         const char* type_name, const char* method);

}  // namespace convergent::bindings
