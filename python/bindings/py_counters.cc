// GCounter and PNCounter.
#include <cstdint>
#include <string>

#include "convergent/crdt/gcounter.h"
#include "module.h"
#include "py_crdt.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

struct Count {
  bool negative = false;
  uint64_t magnitude = 0;
};

// An int argument as sign and magnitude; TypeError for other types, OverflowError when the
// magnitude needs more than 64 bits.
Count ParseCount(py::handle n, const char* where) {
  PyObject* o = n.ptr();
  if (!PyLong_Check(o)) {
    throw py::type_error(std::string(where) + ": n must be an int, got " + PyTypeName(n));
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (overflow == 0) {
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (v >= 0) return Count{false, static_cast<uint64_t>(v)};
    return Count{true, static_cast<uint64_t>(-(v + 1)) + 1};
  }
  py::object magnitude = overflow > 0 ? py::reinterpret_borrow<py::object>(o)
                                      : py::reinterpret_steal<py::object>(PyNumber_Negative(o));
  if (!magnitude) throw py::error_already_set();
  const unsigned long long m = PyLong_AsUnsignedLongLong(magnitude.ptr());
  if (m == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(where) + ": |n| must be below 2**64");
  }
  return Count{overflow < 0, m};
}

py::object Add(PyCrdt<PNCounter>& self, Count c, PyObject* replica, const char* method) {
  PNCounter& s = Write(self);
  const ReplicaId r = WriterOf(self, replica, method);
  return Delta(self, c.negative ? s.Decrement(r, c.magnitude) : s.Increment(r, c.magnitude));
}

// n, or 1 when not given.
Count CountArg(PyObject* n, const char* where) {
  return n == nullptr ? Count{false, 1} : ParseCount(n, where);
}

}  // namespace

void RegisterCounters(py::module_& m) {
  using G = PyCrdt<GCounter>;
  DefineCrdtClass<GCounter>(
      m,
      {"GCounter(*, replica=None)\n--\n\n"
       "A grow-only counter: one slot per replica, the value is their sum. The sum wraps modulo "
       "2**64 (a slot passing 2**64-1 raises OverflowError). `replica` (a name or an int id) "
       "writes the mutations that get no replica=.",
       {Method<GCounter>(
           "increment",
           [](G& self, const Call& call) {
             auto [n, replica] = call.Parse<2>("increment", {"n", "replica"}, 1, 0);
             const Count c = CountArg(n, "GCounter.increment()");
             if (c.negative) {
               throw py::value_error(
                   "GCounter.increment() needs n >= 0 (a GCounter only grows; use a PNCounter)");
             }
             GCounter& s = Write(self);
             const ReplicaId r = WriterOf(self, replica, "increment");
             return Delta(self, s.Increment(r, c.magnitude));
           },
           "increment($self, /, n=1, *, replica=None)\n--\n\n"
           "Adds n >= 0 as `replica`; returns the delta.")},
       {Getter<GCounter>(
           "value", [](G& self) { return py::object(py::int_(Read(self).value())); },
           "The count (an int >= 0).")},
       {ReprSlot<GCounter>([](G& self) {
         return py::object(py::str("GCounter(value=" + std::to_string(Read(self).value()) + ")"));
       })}});

  using P = PyCrdt<PNCounter>;
  DefineCrdtClass<PNCounter>(
      m,
      {"PNCounter(*, replica=None)\n--\n\n"
       "A counter that goes up and down (two GCounters). Its value is an int64: totals beyond "
       "that range wrap around. `replica` (a name or an int id) writes the mutations that get "
       "no replica=.",
       {Method<PNCounter>(
            "increment",
            [](P& self, const Call& call) {
              auto [n, replica] = call.Parse<2>("increment", {"n", "replica"}, 1, 0);
              return Add(self, CountArg(n, "PNCounter.increment()"), replica, "increment");
            },
            "increment($self, /, n=1, *, replica=None)\n--\n\n"
            "Adds n (a negative n subtracts) as `replica`; returns the delta."),
        Method<PNCounter>(
            "decrement",
            [](P& self, const Call& call) {
              auto [n, replica] = call.Parse<2>("decrement", {"n", "replica"}, 1, 0);
              Count c = CountArg(n, "PNCounter.decrement()");
              c.negative = !c.negative && c.magnitude != 0;
              return Add(self, c, replica, "decrement");
            },
            "decrement($self, /, n=1, *, replica=None)\n--\n\n"
            "Subtracts n (a negative n adds) as `replica`; returns the delta.")},
       {Getter<PNCounter>(
           "value", [](P& self) { return py::object(py::int_(Read(self).value())); },
           "The count (an int64).")},
       {ReprSlot<PNCounter>([](P& self) {
         return py::object(py::str("PNCounter(value=" + std::to_string(Read(self).value()) + ")"));
       })}});
}

}  // namespace convergent::bindings
