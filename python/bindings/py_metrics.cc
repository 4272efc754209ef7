// The metrics catalogue (convergent/metrics.h) for Python: convergent.metrics and convergent.otel.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "convergent/metrics.h"
#include "module.h"

namespace py = pybind11;

namespace convergent::bindings {

void RegisterMetrics(py::module_& m) {
  m.def(
      "metric_catalog",
      [] {
        std::vector<std::tuple<std::string, std::string, std::string, std::string, std::string,
                               double, std::string>>
            out;
        for (const MetricInfo& i : MetricCatalog()) {
          out.emplace_back(i.source, i.prometheus,
                           i.kind == MetricKind::kCounter ? "counter" : "gauge", i.unit, i.help,
                           i.scale, MetricLabel(i));
        }
        return out;
      },
      "The metrics catalogue (convergent/metrics.h): (source, prometheus, kind, unit, help, "
      "scale, label) per metric.");
  m.def(
      "find_metric",
      [](const std::string& name) -> std::optional<std::pair<size_t, std::string>> {
        const std::optional<MetricMatch> found = FindMetric(name);
        if (!found) return std::nullopt;
        return std::make_pair(static_cast<size_t>(found->info - MetricCatalog().data()),
                              found->label_value);
      },
      py::arg("name"),
      "A reported metric's index in metric_catalog() and its label's value, or None.");
}

}  // namespace convergent::bindings
