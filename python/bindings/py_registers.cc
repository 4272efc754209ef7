// LWWRegister and MVRegister.
#include <cstdint>
#include <string>

#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/mv_register.h"
#include "module.h"
#include "py_crdt.h"

namespace py = pybind11;

namespace convergent::bindings {
void RegisterRegisters(py::module_& m) {
  using L = PyCrdt<LWWRegister>;
  DefineCrdtClass<LWWRegister>(
      m, {"LWWRegister(*, replica=None)\n--\n\n"
          "The last-writer-wins register: the write with the highest timestamp wins (ties: the "
          "higher replica id, then the greater value bytes). `replica` (a name or an int id) "
          "writes the mutations that get no replica=.",
          {Method<LWWRegister>(
              "set",
              [](L& self, const Call& call) {
                auto [value, replica, timestamp] =
                    call.Parse<3>("set", {"value", "replica", "timestamp"}, 1, 1);
                LWWRegister& s = Write(self);
                const ReplicaId r = WriterOf(self, replica, "set");
                Value v = ToValue(value);
                return Delta(self,
                             s.Set(r, std::move(v),
                                   ClockMicros(Or(timestamp, py::none()), "LWWRegister.set()")));
              },
              "set($self, /, value, *, replica=None, timestamp=None)\n--\n\n"
              "Writes `value` as `replica` at `timestamp` (microseconds since the epoch; default "
              "now; a replica's own writes always get increasing timestamps); returns the delta.")},
          {Getter<LWWRegister>(
               "value", [](L& self) { return FromValue(Read(self).value()); },
               "The value written last (None if never set)."),
           Getter<LWWRegister>(
               "timestamp", [](L& self) { return py::object(py::int_(Read(self).timestamp())); },
               "The timestamp of the winning write, in microseconds (0 if never set).")},
          {ReprSlot<LWWRegister>([](L& self) {
            const LWWRegister& s = Read(self);
            return py::object(
                py::str("LWWRegister(value=" + py::repr(FromValue(s.value())).cast<std::string>() +
                        ", timestamp=" + std::to_string(s.timestamp()) + ")"));
          })}});

  using M = PyCrdt<MVRegister>;
  DefineCrdtClass<MVRegister>(
      m, {"MVRegister(*, replica=None)\n--\n\n"
          "The multi-value register: a write replaces the values it has seen; concurrent writes "
          "are all kept. `replica` (a name or an int id) writes the mutations that get no "
          "replica=.",
          {Method<MVRegister>(
              "set",
              [](M& self, const Call& call) {
                auto [value, replica] = call.Parse<2>("set", {"value", "replica"}, 1, 1);
                MVRegister& s = Write(self);
                const ReplicaId r = WriterOf(self, replica, "set");
                return Delta(self, s.Set(r, ToValue(value)));
              },
              "set($self, /, value, *, replica=None)\n--\n\n"
              "Writes `value` as `replica`, replacing every value seen; returns the delta.")},
          {Getter<MVRegister>(
              "values", [](M& self) { return py::object(FromValues(Read(self).Values())); },
              "The concurrent values (a list in canonical order; empty if never set).")},
          {ReprSlot<MVRegister>([](M& self) {
            return py::object(
                py::str("MVRegister(values=" + ReprItems(FromValues(Read(self).Values())) + ")"));
          })}});
}

}  // namespace convergent::bindings
