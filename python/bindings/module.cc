// convergent._core: the compiled half of the Python package (placeholder until the real bindings).
#include <pybind11/pybind11.h>

#include "convergent/version.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "convergent C++ core (use the convergent package, not this module)";
  m.def("version", &convergent::Version, "Version of the C++ library.");
}
