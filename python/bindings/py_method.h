// Fast entry points for the value classes: METH_FASTCALL|METH_KEYWORDS argument matching (Call)
// and the translation of C++ exceptions into Python errors (Guard). The value classes are plain
// CPython types rather than pybind11 classes because a mutator call must stay well under the
// cost of other CRDT libraries: pybind11 spends ~80 ns dispatching a call and ~150 ns creating
// and registering the returned delta object; these entry points cost a few ns and an object
// allocation.
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <cstddef>
#include <new>
#include <stdexcept>

namespace convergent::bindings {

// Runs `body`; a C++ exception becomes the matching Python error, and false.
template <typename Body>
bool Translate(Body&& body) noexcept {
  try {
    body();
    return true;
  } catch (pybind11::error_already_set& e) {
    e.restore();
  } catch (const pybind11::builtin_exception& e) {
    e.set_error();
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return false;
}

// Runs `body` (returning a pybind11::object) and returns its new reference, or nullptr with a
// Python error set.
template <typename Body>
PyObject* Guard(Body&& body) noexcept {
  PyObject* out = nullptr;
  Translate([&] { out = body().release().ptr(); });
  return out;
}

// Matches the arguments of a vectorcall against parameter `names`: the first `positional` may be
// given by position or keyword, the rest by keyword only; the first `required` must be given.
// Fills `out` with borrowed references (nullptr: not given). Raises TypeError like Python does.
void MatchArgs(const char* function, const char* const* names, size_t count, size_t positional,
               size_t required, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               PyObject** out);

// The raw arguments of one METH_FASTCALL|METH_KEYWORDS call.
struct Call {
  PyObject* const* args;
  Py_ssize_t nargs;
  PyObject* kwnames;

  // Parse<N>("add", {"x", "replica"}, 1, 1): x positional (required), replica keyword-only.
  template <size_t N>
  std::array<PyObject*, N> Parse(const char* function, const std::array<const char*, N>& names,
                                 size_t positional, size_t required) const {
    std::array<PyObject*, N> out;
    MatchArgs(function, names.data(), N, positional, required, args, nargs, kwnames, out.data());
    return out;
  }
  void NoArgs(const char* function) const { Parse<0>(function, {}, 0, 0); }
};

// `arg` if given, else `fallback` (both borrowed).
inline pybind11::handle Or(PyObject* arg, pybind11::handle fallback) {
  return arg != nullptr ? pybind11::handle(arg) : fallback;
}

}  // namespace convergent::bindings
