// Exception translation for _core: C++ Status codes become the exception classes of
// convergent.errors (imported once, when _core is initialised).
//
//   kInvalidArgument -> ValueError, kCorruption -> convergent.DecodeError,
//   kTypeMismatch -> convergent.KeyTypeError, kKeyDeleted -> convergent.KeyDeletedError,
//   kTimeout -> TimeoutError (callers that know the operation use ThrowError(kWriteTimeout...)).
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "convergent/status.h"

namespace convergent::bindings {

// Imports convergent.errors and keeps its exception classes. Called once by the module init.
void InitErrors();

// Raises the Python exception that stands for `s` (which must not be ok), with its message.
[[noreturn]] void ThrowStatus(const Status& s);
// The exception classes of convergent.errors that C++ raises.
enum class PyError {
  kKeyTypeError,
  kDecodeError,
  kKeyDeletedError,
  kWriteTimeout,
  kReadTimeout,
  kNodeDownError,
  kNotConverged,
};
// Raises convergent.<error> with `message`.
[[noreturn]] void ThrowError(PyError error, const std::string& message);
[[noreturn]] inline void ThrowKeyTypeError(const std::string& message) {
  ThrowError(PyError::kKeyTypeError, message);
}
[[noreturn]] inline void ThrowDecodeError(const std::string& message) {
  ThrowError(PyError::kDecodeError, message);
}

template <typename T>
T ValueOrThrow(Result<T> r) {
  if (!r.ok()) ThrowStatus(r.status());
  return std::move(r).value();
}

}  // namespace convergent::bindings
