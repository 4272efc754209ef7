// cv.Config to the C++ ReplicatorOptions, and _core._check_config (Config.__post_init__ runs it,
// so a bad value raises ValueError when the Config is made, with the core's own checks).
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include "convergent/node_options.h"
#include "convergent/replicator_options.h"

namespace convergent::bindings {

// The options of `config` (a cv.Config; None: the defaults), validated: ValueError otherwise.
ReplicatorOptions OptionsFrom(pybind11::handle config);
// Whether `config` sets snapshot options (None: false).
bool WantsSnapshots(pybind11::handle config);
// Sets the node options that `config` holds (the replicator's, min_members, down_after,
// max_delta_flush_interval, snapshots) on `o`; None leaves the defaults.
void NodeOptionsFrom(pybind11::handle config, NodeOptions* o);

}  // namespace convergent::bindings
