#include "py_replica.h"

#include <string>
#include <string_view>

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

}  // namespace convergent::bindings
