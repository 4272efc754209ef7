// convergent._core: the compiled half of the Python package. It converts types, manages the GIL
// and translates errors; the logic lives in the C++ library. Users import `convergent`, which
// re-exports these classes.
#include "module.h"

#include <pybind11/pybind11.h>

#include "convergent/process.h"
#include "convergent/version.h"
#include "py_errors.h"
#include "py_value.h"

namespace cb = convergent::bindings;

PYBIND11_MODULE(_core, m) {
  m.doc() = "convergent C++ core (use the convergent package, not this module)";
  m.def("version", &convergent::Version, "Version of the C++ library.");
  m.def("_return_freed_memory_promptly", &convergent::ReturnFreedMemoryPromptly,
        "Process-wide: freed memory goes back to the system (convergent/process.h).");
  cb::InitErrors();
  cb::RegisterValueFunctions(m);
  cb::RegisterCounters(m);
  cb::RegisterRegisters(m);
  cb::RegisterFlag(m);
  cb::RegisterSets(m);
  cb::RegisterMaps(m);
  cb::RegisterConfig(m);
  cb::RegisterReplicator(m);
  cb::RegisterSimulation(m);
  cb::RegisterNode(m);
  cb::RegisterMetrics(m);
  cb::RegisterLog(m);
}
