// The value classes of _core (GCounter, ORSet, ...): CPython heap types (see py_method.h for why
// not pybind11 classes) whose instances hold a PyCrdt<T>, a CRDT state plus the replica it is
// bound to. DefineCrdtClass<T> creates the class with the members all value types share:
// T(*, replica=None), merge, to_bytes, from_bytes, copy, __copy__/__deepcopy__, ==, pickling;
// each py_<group>.cc passes the mutators, reads and repr of its types (Method, Getter, Slot).
// A new CRDT type (the map family) needs a CrdtTypeOf specialisation, codec Encode/Decode, and
// one more such file.
//
// Mutators take `replica=` (see py_replica.h), change the state in place and return their delta
// as a new, unbound object of the same class (Delta()). Other C++ code of _core (the Replicator
// bindings) creates objects with Wrap<T>(state, replica) and reads them with Unwrap<T>(obj).
//
// Thread safety: members run with the GIL held, except that joins, encodes and decodes of large
// states release it. While they run, the values involved are marked in use (`in_use`), and any
// access from another thread raises RuntimeError instead of racing (checked by Read()/Write(),
// always with the GIL held).
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/ids.h"
#include "py_errors.h"
#include "py_method.h"
#include "py_replica.h"
#include "py_value.h"

namespace convergent::bindings {

// `in_use` when the object was the handle of a Replicator.update() that has returned: its state
// went back to the store and any use raises.
inline constexpr int kExpired = -2;

template <typename T>
struct PyCrdt {
  T state;
  std::optional<ReplicaId> replica;  // the writer when a mutator gets no replica=
  // Calls running without the GIL: > 0 readers, -1 one writer; or kExpired.
  int in_use = 0;
  // Inside Replicator.update(): every mutation's delta is joined here (see Delta()), and the
  // mutators return None instead of a delta object.
  std::optional<T>* sink = nullptr;
};

template <typename T>
struct PyCrdtObject {
  PyObject ob_base;  // PyObject_HEAD
  PyCrdt<T> crdt;
};

// The class of T, once DefineCrdtClass<T> has run (a strong reference, never released).
template <typename T>
inline PyTypeObject* crdt_class = nullptr;

template <typename T>
const char* TypeName() {
  return CrdtTypeName(CrdtTypeOf<T>::value);
}

// Raises RuntimeError: the value is in use by another thread, or (in_use == kExpired) it was an
// update() handle that is no longer valid.
[[noreturn]] void ThrowInUse(const char* type_name, int in_use);
// The Python class name of an object, for messages.
std::string PyTypeName(pybind11::handle obj);
// "['a', 'b', ...]": the reprs of at most `max_items` items, then "..." if there are more.
std::string ReprItems(const pybind11::list& items, size_t max_items = 10);

// A new object of T's class holding `state`.
template <typename T>
pybind11::object Wrap(T state, std::optional<ReplicaId> replica = std::nullopt) {
  PyTypeObject* type = crdt_class<T>;
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj == nullptr) throw pybind11::error_already_set();
  new (&reinterpret_cast<PyCrdtObject<T>*>(obj)->crdt)
      PyCrdt<T>{std::move(state), replica, 0, nullptr};
  return pybind11::reinterpret_steal<pybind11::object>(obj);
}
// Joins `delta` into `into` (which may be empty).
template <typename T>
void JoinInto(std::optional<T>& into, T&& delta) {
  if (into) {
    into->Join(delta);
  } else {
    into.emplace(std::move(delta));
  }
}
// What a mutator of `self` returns: its delta as a new unbound object, or, inside
// Replicator.update(), None after joining the delta into the update's sink.
template <typename T>
pybind11::object Delta(PyCrdt<T>& self, T delta) {
  if (self.sink != nullptr) {
    JoinInto(*self.sink, std::move(delta));
    return pybind11::none();
  }
  return Wrap<T>(std::move(delta));
}
// The PyCrdt<T> inside `obj`, or nullptr if obj is not of T's class.
template <typename T>
PyCrdt<T>* Unwrap(pybind11::handle obj) {
  if (Py_TYPE(obj.ptr()) != crdt_class<T>) return nullptr;
  return &reinterpret_cast<PyCrdtObject<T>*>(obj.ptr())->crdt;
}
template <typename T>
PyCrdt<T>& Self(PyObject* obj) {  // `obj` is known to be of T's class
  return reinterpret_cast<PyCrdtObject<T>*>(obj)->crdt;
}

// Access to the state, refused while another thread runs a long operation on it.
template <typename T>
const T& Read(const PyCrdt<T>& v) {
  if (v.in_use < 0) ThrowInUse(TypeName<T>(), v.in_use);
  return v.state;
}
template <typename T>
T& Write(PyCrdt<T>& v) {
  if (v.in_use != 0) ThrowInUse(TypeName<T>(), v.in_use);
  return v.state;
}

// The writer of a mutation of `self`: the `replica` argument when given, else the replica the
// value is bound to. Inside Replicator.update() the writer is always the node's own replica, and
// a replica= argument raises ValueError.
template <typename T>
std::optional<ReplicaId> BoundWriter(const PyCrdt<T>& self, PyObject* replica) {
  if (replica != nullptr && replica != Py_None) {
    if (self.sink != nullptr) {
      throw pybind11::value_error(
          std::string("inside Replicator.update() the node's replica writes: do not pass "
                      "replica= to ") +
          TypeName<T>() + " mutators");
    }
    return ParseReplica(replica);
  }
  return self.replica;
}
// As BoundWriter, and ValueError naming "<type>.<method>()" when there is no writer.
template <typename T>
ReplicaId WriterOf(const PyCrdt<T>& self, PyObject* replica, const char* method) {
  if (std::optional<ReplicaId> r = BoundWriter(self, replica)) return *r;
  return ResolveReplica(pybind11::none(), std::nullopt, TypeName<T>(), method);  // raises
}

// ---- entry points: a body (a captureless lambda) wrapped for CPython ----

// Method: py::object body(PyCrdt<T>& self, const Call& call).
template <typename T, typename Body>
PyObject* MethodEntry(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) noexcept {
  return Guard([&] { return Body{}(Self<T>(self), Call{args, nargs, kwnames}); });
}
template <typename T, typename Body>
PyMethodDef Method(const char* name, Body, const char* doc) {
  return {name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&MethodEntry<T, Body>)),
          METH_FASTCALL | METH_KEYWORDS, doc};
}
// Static method: py::object body(const Call& call).
template <typename Body>
PyObject* StaticEntry(PyObject*, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) noexcept {
  return Guard([&] { return Body{}(Call{args, nargs, kwnames}); });
}
template <typename Body>
PyMethodDef StaticMethod(const char* name, Body, const char* doc) {
  return {name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&StaticEntry<Body>)),
          METH_FASTCALL | METH_KEYWORDS | METH_STATIC, doc};
}
// Read-only property: py::object body(PyCrdt<T>& self).
template <typename T, typename Body>
PyObject* GetterEntry(PyObject* self, void*) noexcept {
  return Guard([&] { return Body{}(Self<T>(self)); });
}
template <typename T, typename Body>
PyGetSetDef Getter(const char* name, Body, const char* doc) {
  return {name, &GetterEntry<T, Body>, nullptr, doc, nullptr};
}
// Type slots: tp_repr / tp_iter (py::object body(PyCrdt<T>&)), sq_length (size_t body(...)),
// sq_contains (bool body(PyCrdt<T>&, py::handle)).
template <typename T, typename Body>
PyObject* UnaryEntry(PyObject* self) noexcept {
  return Guard([&] { return pybind11::object(Body{}(Self<T>(self))); });
}
template <typename T, typename Body>
Py_ssize_t LengthEntry(PyObject* self) noexcept {
  Py_ssize_t n = -1;
  Translate([&] { n = static_cast<Py_ssize_t>(Body{}(Self<T>(self))); });
  return n;
}
template <typename T, typename Body>
int ContainsEntry(PyObject* self, PyObject* x) noexcept {
  int found = -1;
  Translate([&] { found = Body{}(Self<T>(self), pybind11::handle(x)) ? 1 : 0; });
  return found;
}
template <typename T, typename Body>
PyType_Slot ReprSlot(Body) {
  return {Py_tp_repr, reinterpret_cast<void*>(&UnaryEntry<T, Body>)};
}
template <typename T, typename Body>
PyType_Slot IterSlot(Body) {
  return {Py_tp_iter, reinterpret_cast<void*>(&UnaryEntry<T, Body>)};
}
template <typename T, typename Body>
PyType_Slot LengthSlot(Body) {
  return {Py_sq_length, reinterpret_cast<void*>(&LengthEntry<T, Body>)};
}
template <typename T, typename Body>
PyType_Slot ContainsSlot(Body) {
  return {Py_sq_contains, reinterpret_cast<void*>(&ContainsEntry<T, Body>)};
}

// ---- the members every value class shares ----

// A rough size of a state: joins, encodes and decodes at least this big release the GIL.
inline constexpr size_t kReleaseGilWeight = 1024;
inline constexpr size_t kReleaseGilBytes = 64 * 1024;

template <typename T>
size_t Weight(const T& s) {
  if constexpr (requires { s.size(); }) {  // sets (and maps)
    if constexpr (requires { s.context(); }) return s.size() + s.context().dot_cloud().size();
    return s.size();
  } else if constexpr (requires { s.slots(); }) {  // GCounter
    return s.slots().size();
  } else if constexpr (requires { s.increments(); }) {  // PNCounter
    return s.increments().slots().size() + s.decrements().slots().size();
  } else if constexpr (requires { s.store(); }) {  // MVRegister
    return s.store().size() + s.context().dot_cloud().size();
  } else {  // registers and flags: constant size
    return 0;
  }
}

// Marks a value in use for the duration of a call that releases the GIL. Construct and destroy
// with the GIL held (declare it before the py::gil_scoped_release).
class InUse {
 public:
  InUse(int* counter, bool exclusive) : counter_(counter), exclusive_(exclusive) {
    *counter_ = exclusive ? -1 : *counter_ + 1;
  }
  ~InUse() { *counter_ = exclusive_ ? 0 : *counter_ - 1; }
  InUse(const InUse&) = delete;
  InUse& operator=(const InUse&) = delete;

 private:
  int* counter_;
  bool exclusive_;
};

template <typename T>
void Merge(PyCrdt<T>& self, pybind11::handle other) {
  PyCrdt<T>* src = Unwrap<T>(other);
  if (src == nullptr) {
    ThrowKeyTypeError(std::string("cannot merge a ") + PyTypeName(other) + " into a " +
                      TypeName<T>());
  }
  if (src == &self) {  // the join is idempotent
    Read(self);
    return;
  }
  T& dst_state = Write(self);
  const T& src_state = Read(*src);
  if (self.sink != nullptr) {  // inside Replicator.update(): the merged state replicates too
    JoinInto(*self.sink, T(src_state));
  }
  if (Weight(dst_state) + Weight(src_state) < kReleaseGilWeight) {
    dst_state.Join(src_state);
    return;
  }
  InUse writing(&self.in_use, true);
  InUse reading(&src->in_use, false);
  pybind11::gil_scoped_release nogil;
  dst_state.Join(src_state);
}

template <typename T>
pybind11::bytes ToBytes(PyCrdt<T>& self) {
  const T& state = Read(self);
  std::string bytes;
  if (Weight(state) < kReleaseGilWeight) {
    bytes = Encode(state);
  } else {
    InUse reading(&self.in_use, false);
    pybind11::gil_scoped_release nogil;
    bytes = Encode(state);
  }
  return pybind11::bytes(bytes);
}

// GCC 12 reports a false -Wfree-nonheap-object in the inlined destructor of Result<T> here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif
template <typename T>
T FromBytes(pybind11::handle data) {
  BytesArg arg(data, (std::string(TypeName<T>()) + ".from_bytes()").c_str());
  const std::string_view bytes = arg.view();
  auto decode = [&] {
    if (bytes.size() < kReleaseGilBytes) return Decode<T>(bytes);
    pybind11::gil_scoped_release nogil;
    return Decode<T>(bytes);
  };
  Result<T> r = decode();
  if (r.ok()) return std::move(r.value());
  if (r.status().code() == StatusCode::kTypeMismatch) {
    Result<CrdtType> held = PeekType(bytes);
    ThrowKeyTypeError(std::string(TypeName<T>()) + ".from_bytes(): the bytes hold " +
                      (held.ok() ? CrdtTypeWithArticle(*held) : "a value of another type") +
                      ", not " + CrdtTypeWithArticle(CrdtTypeOf<T>::value));
  }
  ThrowStatus(r.status());
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <typename T>
pybind11::object CopyOf(PyCrdt<T>& self) {
  return Wrap<T>(Read(self), self.replica);
}

template <typename T>
PyObject* NewEntry(PyTypeObject*, PyObject* args, PyObject* kwargs) noexcept {
  return Guard([&] {
    PyObject* replica = nullptr;
    if (kwargs != nullptr) {
      replica = PyDict_GetItemString(kwargs, "replica");
      if (PyDict_GET_SIZE(kwargs) != (replica != nullptr ? 1 : 0)) {
        throw pybind11::type_error(std::string(TypeName<T>()) +
                                   "() takes only the keyword argument replica");
      }
    }
    if (PyTuple_GET_SIZE(args) != 0) {
      throw pybind11::type_error(std::string(TypeName<T>()) + "() takes no positional arguments");
    }
    return Wrap<T>(T{}, ParseReplica(Or(replica, pybind11::none())));
  });
}

template <typename T>
void DeallocEntry(PyObject* obj) {
  reinterpret_cast<PyCrdtObject<T>*>(obj)->crdt.~PyCrdt<T>();
  PyTypeObject* type = Py_TYPE(obj);
  type->tp_free(obj);
  Py_DECREF(type);
}

template <typename T>
PyObject* RichCompareEntry(PyObject* a, PyObject* b, int op) noexcept {
  PyCrdt<T>* x = Unwrap<T>(a);
  PyCrdt<T>* y = Unwrap<T>(b);
  if (x == nullptr || y == nullptr || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
  return Guard([&] { return pybind11::bool_((Read(*x) == Read(*y)) == (op == Py_EQ)); });
}

// What a py_<group>.cc passes for one class. `doc` starts with the constructor's signature:
// "ORSet(*, replica=None)\n--\n\n...".
struct ClassSpec {
  const char* doc;
  std::vector<PyMethodDef> methods;
  std::vector<PyGetSetDef> getters;
  std::vector<PyType_Slot> slots;
};

// Creates T's class from `spec` plus the shared members and adds it to `m`. Once per T.
template <typename T>
void DefineCrdtClass(pybind11::module_& m, ClassSpec spec) {
  namespace py = pybind11;
  using P = PyCrdt<T>;
  // CPython keeps pointers into these: they live as long as the process.
  static std::vector<PyMethodDef> methods = std::move(spec.methods);
  static std::vector<PyGetSetDef> getters = std::move(spec.getters);
  static std::vector<PyType_Slot> slots = std::move(spec.slots);
  static const std::string name = std::string("convergent.") + TypeName<T>();

  methods.push_back(Method<T>(
      "merge",
      [](P& self, const Call& call) {
        auto [other] = call.Parse<1>("merge", {"other"}, 1, 1);
        Merge(self, other);
        return py::object(py::none());
      },
      "merge($self, /, other)\n--\n\nJoins `other` (a value of the same class) into this one, in "
      "place. A value of another class raises KeyTypeError."));
  methods.push_back(Method<T>(
      "to_bytes",
      [](P& self, const Call& call) {
        call.NoArgs("to_bytes");
        return py::object(ToBytes(self));
      },
      "to_bytes($self, /)\n--\n\nThe canonical encoding of the state (equal states, equal "
      "bytes)."));
  methods.push_back(StaticMethod(
      "from_bytes",
      [](const Call& call) {
        auto [data] = call.Parse<1>("from_bytes", {"data"}, 1, 1);
        return Wrap<T>(FromBytes<T>(data));
      },
      "from_bytes(data)\n--\n\nDecodes to_bytes() output (unbound). Corrupt bytes raise "
      "DecodeError, bytes of another type KeyTypeError."));
  methods.push_back(Method<T>(
      "copy",
      [](P& self, const Call& call) {
        call.NoArgs("copy");
        return CopyOf(self);
      },
      "copy($self, /)\n--\n\nAn independent copy, bound to the same replica."));
  methods.push_back(Method<T>(
      "__copy__",
      [](P& self, const Call& call) {
        call.NoArgs("__copy__");
        return CopyOf(self);
      },
      "__copy__($self, /)\n--\n\n"));
  methods.push_back(Method<T>(
      "__deepcopy__",
      [](P& self, const Call& call) {
        call.Parse<1>("__deepcopy__", {"memo"}, 1, 1);
        return CopyOf(self);
      },
      "__deepcopy__($self, /, memo)\n--\n\n"));
  methods.push_back(Method<T>(
      "__reduce__",
      [](P& self, const Call& call) {
        call.NoArgs("__reduce__");
        py::object replica = py::none();
        if (self.replica) replica = py::int_(self.replica->value);
        py::handle cls(reinterpret_cast<PyObject*>(crdt_class<T>));
        return py::object(py::make_tuple(cls, py::tuple(), py::make_tuple(ToBytes(self), replica)));
      },
      "__reduce__($self, /)\n--\n\n"));
  methods.push_back(Method<T>(
      "__setstate__",
      [](P& self, const Call& call) {
        auto [state] = call.Parse<1>("__setstate__", {"state"}, 1, 1);
        if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) != 2) {
          throw py::type_error("__setstate__() expects (bytes, replica id or None)");
        }
        if (self.sink != nullptr) {
          throw std::runtime_error("cannot replace the state of a Replicator.update() handle");
        }
        T decoded = FromBytes<T>(PyTuple_GET_ITEM(state, 0));
        std::optional<ReplicaId> replica = ParseReplica(PyTuple_GET_ITEM(state, 1));
        Write(self) = std::move(decoded);
        self.replica = replica;
        return py::object(py::none());
      },
      "__setstate__($self, /, state)\n--\n\n"));
  methods.push_back({nullptr, nullptr, 0, nullptr});
  getters.push_back({nullptr, nullptr, nullptr, nullptr, nullptr});

  slots.push_back({Py_tp_doc, const_cast<char*>(spec.doc)});
  slots.push_back({Py_tp_new, reinterpret_cast<void*>(&NewEntry<T>)});
  slots.push_back({Py_tp_dealloc, reinterpret_cast<void*>(&DeallocEntry<T>)});
  slots.push_back({Py_tp_richcompare, reinterpret_cast<void*>(&RichCompareEntry<T>)});
  slots.push_back({Py_tp_hash, reinterpret_cast<void*>(&PyObject_HashNotImplemented)});
  slots.push_back({Py_tp_methods, methods.data()});
  slots.push_back({Py_tp_getset, getters.data()});
  slots.push_back({0, nullptr});

  static PyType_Spec type_spec{name.c_str(), static_cast<int>(sizeof(PyCrdtObject<T>)), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, slots.data()};
  PyObject* type = PyType_FromSpec(&type_spec);
  if (type == nullptr) throw py::error_already_set();
  crdt_class<T> = reinterpret_cast<PyTypeObject*>(type);  // keeps the new reference
  m.add_object(TypeName<T>(), py::handle(type));
}

}  // namespace convergent::bindings
