#include "py_errors.h"

#include <array>
#include <stdexcept>

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// The class names, indexed by PyError.
constexpr std::array<const char*, 7> kNames = {"KeyTypeError", "DecodeError", "KeyDeletedError",
                                               "WriteTimeout", "ReadTimeout", "NodeDownError",
                                               "NotConverged"};
// Strong references, kept for the life of the interpreter (the module is never unloaded).
std::array<PyObject*, kNames.size()> classes = {};

}  // namespace

void InitErrors() {
  py::module_ errors = py::module_::import("convergent.errors");
  for (size_t i = 0; i < kNames.size(); ++i)
    classes[i] = py::object(errors.attr(kNames[i])).release().ptr();
}

void ThrowError(PyError error, const std::string& message) {
  PyErr_SetString(classes[static_cast<size_t>(error)], message.c_str());
  throw py::error_already_set();
}

void ThrowStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kCorruption:
      ThrowError(PyError::kDecodeError, s.message());
    case StatusCode::kTypeMismatch:
      ThrowError(PyError::kKeyTypeError, s.message());
    case StatusCode::kInvalidArgument:
      throw py::value_error(s.message());
    case StatusCode::kKeyDeleted:
      ThrowError(PyError::kKeyDeletedError, s.message());
    case StatusCode::kTimeout:
      PyErr_SetString(PyExc_TimeoutError, s.message().c_str());
      throw py::error_already_set();
    case StatusCode::kUnavailable:
      PyErr_SetString(PyExc_OSError, s.message().c_str());
      throw py::error_already_set();
    case StatusCode::kOk:
      break;
  }
  throw std::logic_error("ThrowStatus called with " + s.ToString());  // a bug of ours
}

}  // namespace convergent::bindings
