#include "py_method.h"

#include <string>

namespace py = pybind11;

namespace convergent::bindings {

void MatchArgs(const char* function, const char* const* names, size_t count, size_t positional,
               size_t required, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               PyObject** out) {
  for (size_t i = 0; i < count; ++i) out[i] = nullptr;
  if (static_cast<size_t>(nargs) > positional) {
    throw py::type_error(std::string(function) + "() takes " + std::to_string(positional) +
                         " positional argument(s) but " + std::to_string(nargs) + " were given");
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) out[i] = args[i];
  const Py_ssize_t nkw = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    while (i < count && PyUnicode_CompareWithASCIIString(key, names[i]) != 0) ++i;
    if (i == count) {
      throw py::type_error(std::string(function) + "() got an unexpected keyword argument '" +
                           py::str(key).cast<std::string>() + "'");
    }
    if (out[i] != nullptr) {
      throw py::type_error(std::string(function) + "() got multiple values for argument '" +
                           names[i] + "'");
    }
    out[i] = args[nargs + k];
  }
  for (size_t i = 0; i < required; ++i) {
    if (out[i] == nullptr) {
      throw py::type_error(std::string(function) + "() missing required argument '" + names[i] +
                           "'");
    }
  }
}

}  // namespace convergent::bindings
