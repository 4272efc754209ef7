// Flag.
#include "convergent/crdt/flag.h"
#include "module.h"
#include "py_crdt.h"

namespace py = pybind11;

namespace convergent::bindings {

void RegisterFlag(py::module_& m) {
  using F = PyCrdt<Flag>;
  DefineCrdtClass<Flag>(
      m, {"Flag(*, replica=None)\n--\n\n"
          "A boolean that starts False and, once enabled, stays so.",
          {Method<Flag>(
              "enable",
              [](F& self, const Call& call) {
                auto [replica] = call.Parse<1>("enable", {"replica"}, 0, 0);
                Flag& s = Write(self);
                BoundWriter(self, replica);  // checked; a flag does not record writers
                return Delta(self, s.Enable());
              },
              "enable($self, /, *, replica=None)\n--\n\nEnables the flag; returns the delta.")},
          {Getter<Flag>(
              "enabled", [](F& self) { return py::object(py::bool_(Read(self).enabled())); },
              "Whether it is enabled.")},
          {ReprSlot<Flag>([](F& self) {
            return py::object(py::str(std::string("Flag(enabled=") +
                                      (Read(self).enabled() ? "True" : "False") + ")"));
          })}});
}

}  // namespace convergent::bindings
