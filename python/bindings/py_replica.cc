#include "py_replica.h"

#include <chrono>
#include <string>
#include <string_view>

#include "py_crdt.h"  // PyTypeName

namespace py = pybind11;

namespace convergent::bindings {

std::optional<ReplicaId> ParseReplica(py::handle arg) {
  PyObject* o = arg.ptr();
  if (o == Py_None) return std::nullopt;
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o, &n);
    if (s == nullptr) throw py::error_already_set();
    if (n == 0) throw py::value_error("a replica name must not be empty");
    return ReplicaId::FromName(std::string_view(s, static_cast<size_t>(n)));
  }
  if (PyLong_Check(o) && !PyBool_Check(o)) {
    const unsigned long long id = PyLong_AsUnsignedLongLong(o);
    if (id == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      throw py::value_error("a replica id must be an integer in 0 <= id < 2**64");
    }
    return ReplicaId{id};
  }
  throw py::type_error(std::string("replica must be a str, an int or None, got ") +
                       Py_TYPE(o)->tp_name);
}

ReplicaId ResolveReplica(py::handle arg, const std::optional<ReplicaId>& bound,
                         const char* type_name, const char* method) {
  if (std::optional<ReplicaId> r = ParseReplica(arg)) return *r;
  if (bound) return *bound;
  throw py::value_error(std::string(type_name) + "." + method +
                        "() needs to know which replica writes: pass replica=... (a name or an "
                        "int id), or create the value with " +
                        type_name + "(replica=...)");
}

namespace {
thread_local std::optional<uint64_t> update_clock;
}  // namespace

UpdateClock::UpdateClock(std::optional<uint64_t> micros) : previous_(update_clock) {
  update_clock = micros;
}
UpdateClock::~UpdateClock() { update_clock = previous_; }

uint64_t ClockMicros(py::handle timestamp, const char* where) {
  PyObject* o = timestamp.ptr();
  if (o == Py_None) {
    if (update_clock) return *update_clock;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  }
  if (!PyLong_Check(o) || PyBool_Check(o)) {
    throw py::type_error(std::string(where) +
                         ": timestamp must be an int (microseconds) or None, got " +
                         PyTypeName(timestamp));
  }
  const unsigned long long t = PyLong_AsUnsignedLongLong(o);
  if (t == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(where) + ": timestamp must be in 0 <= t < 2**64");
  }
  return t;
}

}  // namespace convergent::bindings
