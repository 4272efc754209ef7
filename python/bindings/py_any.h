// Values of any CRDT type between C++ and Python: the class of each CrdtType, AnyCrdt to a
// Python value object, and PythonMutation, the Replicator::Mutation that runs a Python function
// on a handle of the key's type (Replicator.update()).
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "convergent/crdt/any_crdt.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/ids.h"
#include "convergent/status.h"

namespace convergent::bindings {

// The Python value class of `t` (cv.ORSet for kORSet, ...); nullptr for an unknown number.
PyTypeObject* ClassOf(CrdtType t);
// The CrdtType whose value class is `cls`; nullopt when cls is not one of them.
std::optional<CrdtType> TypeOfClass(pybind11::handle cls);
// A new, unbound Python value holding a copy of `v`.
pybind11::object WrapAny(const AnyCrdt& v);

// Runs fn(handle) where `handle` is a value object of the key's type, bound to `replica`, that
// holds the stored state while fn runs (moved in, moved back after: nothing is copied). Its
// mutators change the stored state in place and join their deltas into the delta this mutation
// returns (they return None meanwhile); once fn returns the handle is expired.
//
// `clock` (microseconds), when given, is the time of the update: the host's clock, virtual in a
// simulation. Writes in fn that take no explicit timestamp (LWWRegister.set, LWWMap.put) use it
// instead of the wall clock, so a simulation stays deterministic.
//
// When fn raises, the mutations it made before stay applied and their delta is returned (so they
// replicate); with no mutation at all the result is an error and nothing is stored. Either way
// the caller re-raises fn's exception with RethrowIfRaised() after the update.
class PythonMutation {
 public:
  PythonMutation(pybind11::handle fn, ReplicaId replica) : fn_(fn), replica_(replica) {}
  Result<AnyCrdt> operator()(AnyCrdt& value, std::optional<uint64_t> clock = std::nullopt);
  void RethrowIfRaised();
  bool raised() const { return raised_.has_value(); }

 private:
  pybind11::handle fn_;
  ReplicaId replica_;
  std::optional<pybind11::error_already_set> raised_;
};

}  // namespace convergent::bindings
