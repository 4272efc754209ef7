#include "py_any.h"

#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "py_crdt.h"
#include "py_replica.h"

namespace py = pybind11;

namespace convergent::bindings {

PyTypeObject* ClassOf(CrdtType t) {
  return VisitCrdtType(
      t, [](auto type) { return crdt_class<typename decltype(type)::type>; },
      []() -> PyTypeObject* { return nullptr; });
}

std::optional<CrdtType> TypeOfClass(py::handle cls) {
  return [&]<typename... Ts>(CrdtTypeList<Ts...>) -> std::optional<CrdtType> {
    std::optional<CrdtType> found;
    ((found = cls.ptr() == reinterpret_cast<PyObject*>(crdt_class<Ts>)
                  ? std::optional<CrdtType>(CrdtTypeOf<Ts>::value)
                  : found),
     ...);
    return found;
  }(AllCrdtTypes{});
}

py::object WrapAny(const AnyCrdt& v) {
  return v.Visit([](const auto& state) { return Wrap(state); });
}

Result<AnyCrdt> PythonMutation::operator()(AnyCrdt& value, std::optional<uint64_t> clock) {
  const UpdateClock scope(clock);
  return value.Visit([&](auto& state) -> Result<AnyCrdt> {
    using T = std::decay_t<decltype(state)>;
    PyTypeObject* cls = crdt_class<T>;
    PyObject* obj = cls->tp_alloc(cls, 0);  // before the state moves: a failure loses nothing
    if (obj == nullptr) throw py::error_already_set();
    std::optional<T> sink;
    auto* crdt = &reinterpret_cast<PyCrdtObject<T>*>(obj)->crdt;
    new (crdt) PyCrdt<T>{std::move(state), replica_, 0, &sink};
    py::object handle = py::reinterpret_steal<py::object>(obj);
    PyObject* result = PyObject_CallOneArg(fn_.ptr(), obj);
    state = std::move(crdt->state);  // back to the store, whatever fn did
    crdt->state = T{};
    crdt->sink = nullptr;
    crdt->in_use = kExpired;
    if (result == nullptr) {
      raised_.emplace();  // takes the Python error
      if (!sink) return Status::InvalidArgument("the update function raised");
    } else {
      Py_DECREF(result);
    }
    if (!sink) return AnyCrdt(T{});  // fn changed nothing
    return AnyCrdt(std::move(*sink));
  });
}

void PythonMutation::RethrowIfRaised() {
  if (!raised_) return;
  py::error_already_set e = std::move(*raised_);
  raised_.reset();
  throw e;
}

}  // namespace convergent::bindings
