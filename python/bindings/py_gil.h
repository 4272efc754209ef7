// GilReleased and NoGil: releasing the GIL around blocking calls of the library, safely for the
// daemon threads that Python ends at its exit (py_node.cc, py_log.cc).
//
// Thread safety: a GilReleased is made and destroyed on the thread that holds the GIL.
#pragma once

#include <Python.h>

namespace convergent::bindings {

// Releases the GIL for its scope, as py::gil_scoped_release, except that taking it back may end
// the thread: Python ends a daemon thread that takes the GIL back while the interpreter is
// finalizing (pthread_exit, which unwinds the thread's stack). pybind11's destructor is
// noexcept, so that unwinding aborted the process ("terminate called without an active
// exception", a node process stopped while a driver's calls were in flight); this one lets it
// through, and the thread ends quietly.
class GilReleased {
 public:
  GilReleased() : state_(PyEval_SaveThread()) {}
  ~GilReleased() noexcept(false) { PyEval_RestoreThread(state_); }
  GilReleased(const GilReleased&) = delete;
  GilReleased& operator=(const GilReleased&) = delete;

 private:
  PyThreadState* state_;
};

// Runs f with the GIL released. Every call that takes the node's lock goes through it: a Python
// thread must never wait for that lock while holding the GIL, because the holder may be running
// Python code (an update function) and need the GIL back.
template <typename F>
auto NoGil(F&& f) {
  GilReleased nogil;
  return f();
}

}  // namespace convergent::bindings
