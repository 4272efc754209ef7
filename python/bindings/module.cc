// convergent._core: the compiled half of the Python package. It converts types, manages the GIL
// and translates errors; the logic lives in the C++ library. Users import `convergent`, which
// re-exports these classes.
#include "module.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "convergent/metrics.h"
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
  m.def(
      "metric_catalog",
      [] {
        std::vector<std::tuple<std::string, std::string, std::string, std::string, std::string,
                               double, std::string>>
            out;
        for (const convergent::MetricInfo& i : convergent::MetricCatalog()) {
          out.emplace_back(i.source, i.prometheus,
                           i.kind == convergent::MetricKind::kCounter ? "counter" : "gauge", i.unit,
                           i.help, i.scale, convergent::MetricLabel(i));
        }
        return out;
      },
      "The metrics catalogue (convergent/metrics.h): (source, prometheus, kind, unit, help, "
      "scale, label) per metric.");
  m.def(
      "find_metric",
      [](const std::string& name) -> std::optional<std::pair<size_t, std::string>> {
        const std::optional<convergent::MetricMatch> found = convergent::FindMetric(name);
        if (!found) return std::nullopt;
        return std::make_pair(static_cast<size_t>(found->info - convergent::MetricCatalog().data()),
                              found->label_value);
      },
      "A reported metric's index in metric_catalog() and its label's value, or None.");
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
}
