#include "py_errors.h"

#include <stdexcept>

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// Strong references, kept for the life of the interpreter (the module is never unloaded).
PyObject* key_type_error = nullptr;
PyObject* decode_error = nullptr;
PyObject* key_deleted_error = nullptr;

PyObject* ImportClass(const py::module_& errors, const char* name) {
  py::object cls = errors.attr(name);
  return cls.release().ptr();
}

[[noreturn]] void Raise(PyObject* cls, const std::string& message) {
  PyErr_SetString(cls, message.c_str());
  throw py::error_already_set();
}

}  // namespace

void InitErrors() {
  py::module_ errors = py::module_::import("convergent.errors");
  key_type_error = ImportClass(errors, "KeyTypeError");
  decode_error = ImportClass(errors, "DecodeError");
  key_deleted_error = ImportClass(errors, "KeyDeletedError");
}

void ThrowStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kCorruption:
      Raise(decode_error, s.message());
    case StatusCode::kTypeMismatch:
      Raise(key_type_error, s.message());
    case StatusCode::kInvalidArgument:
      throw py::value_error(s.message());
    case StatusCode::kKeyDeleted:
      Raise(key_deleted_error, s.message());
    case StatusCode::kTimeout:  // callers that know the operation raise WriteTimeout/ReadTimeout
      Raise(PyExc_TimeoutError, s.message());
    case StatusCode::kOk:
      break;
  }
  throw std::logic_error("ThrowStatus called with " + s.ToString());  // a bug of ours
}

void ThrowKeyTypeError(const std::string& message) { Raise(key_type_error, message); }
void ThrowDecodeError(const std::string& message) { Raise(decode_error, message); }

}  // namespace convergent::bindings
