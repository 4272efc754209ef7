// The parts _core is assembled from (module.cc calls each once): every py_<group>.cc defines
// one group of classes.
//
// Thread safety: called once, at import, with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

namespace convergent::bindings {

void RegisterCounters(pybind11::module_& m);   // GCounter, PNCounter (py_counters.cc)
void RegisterRegisters(pybind11::module_& m);  // LWWRegister, MVRegister (py_registers.cc)
void RegisterFlag(pybind11::module_& m);       // Flag (py_flag.cc)
void RegisterSets(pybind11::module_& m);       // ORSet, GSet (py_sets.cc)
// ORMap, LWWMap, PNCounterMap, ORMultiMap (py_maps.cc); after the classes above, which it nests.
void RegisterMaps(pybind11::module_& m);
// _check_config (py_config.cc), Replicator and Subscription (py_replicator.cc), Simulation
// (py_simulation.cc).
void RegisterConfig(pybind11::module_& m);
void RegisterReplicator(pybind11::module_& m);
void RegisterSimulation(pybind11::module_& m);
// _Node (py_node.cc): a real cluster member.
void RegisterNode(pybind11::module_& m);
// metric_catalog, find_metric (py_metrics.cc): what each metric is.
void RegisterMetrics(pybind11::module_& m);
// _log_capture, _log_wait (py_log.cc): the library's log lines, queued for Python's logging.
void RegisterLog(pybind11::module_& m);

}  // namespace convergent::bindings
