#include "py_crdt.h"

#include <stdexcept>

namespace py = pybind11;

namespace convergent::bindings {

void ThrowInUse(const char* type_name, int in_use) {
  if (in_use == kExpired) {
    throw std::runtime_error(std::string("this ") + type_name +
                             " was the handle of a Replicator.update() call and is only valid "
                             "inside it; read the value with get()");
  }
  throw std::runtime_error(std::string("this ") + type_name +
                           " is being merged or encoded by another thread; use a value from one "
                           "thread at a time");
}

std::string PyTypeName(py::handle obj) {
  return py::type::of(obj).attr("__name__").cast<std::string>();
}

std::string ReprItems(const py::list& items, size_t max_items) {
  std::string out = "[";
  const size_t n = items.size();
  for (size_t i = 0; i < n && i < max_items; ++i) {
    if (i > 0) out += ", ";
    out += py::repr(items[i]).cast<std::string>();
  }
  if (n > max_items) out += ", ...";
  out += "]";
  return out;
}

}  // namespace convergent::bindings
