// ORMap, LWWMap, PNCounterMap and ORMultiMap, plus the entry handles that ORMap.update() passes
// to its callback (one small class per nestable type: _GCounterEntry, _ORSetEntry, ...).
//
// The four maps are read-only mappings (m[k], `in`, len, iter, keys/items/values, get) whose
// keys are user values in canonical order. An entry handle holds a borrowed pointer to the map
// being updated, valid only while update() runs; each of its mutators calls the C++ ORMap on
// its key and joins the returned delta into the delta that update() returns.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "convergent/crdt/lww_map.h"
#include "convergent/crdt/ormap.h"
#include "convergent/crdt/ormultimap.h"
#include "convergent/crdt/pncounter_map.h"
#include "module.h"
#include "py_any.h"
#include "py_crdt.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

constexpr size_t kReprItems = 10;

// ---- arguments ----

// An int argument that must fit in an int64 (negated first when `negate`): TypeError for other
// types, ValueError out of range.
int64_t ParseInt64(PyObject* n, bool negate, const char* where) {
  if (n == nullptr) return negate ? -1 : 1;
  if (!PyLong_Check(n)) {
    throw py::type_error(std::string(where) + ": n must be an int, got " +
                         PyTypeName(py::handle(n)));
  }
  py::object v = py::reinterpret_borrow<py::object>(n);
  if (negate) {
    v = py::reinterpret_steal<py::object>(PyNumber_Negative(n));
    if (!v) throw py::error_already_set();
  }
  int overflow = 0;
  const long long out = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (out == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0) {
    throw py::value_error(std::string(where) + (negate ? ": n must be in -2**63 < n <= 2**63"
                                                       : ": n must be in -2**63 <= n < 2**63"));
  }
  return out;
}

// ---- the nestable types ----

// The nestable type that the class `cls` stands for; TypeError for anything else.
CrdtType NestableType(py::handle cls) {
  if (std::optional<CrdtType> t = TypeOfClass(cls)) {
    if (!IsNestable(*t)) {
      throw py::type_error("ORMap.update(): an ORMap cannot hold " + CrdtTypeWithArticle(*t) +
                           " (nestable: GCounter, PNCounter, LWWRegister, MVRegister, ORSet, "
                           "GSet, Flag)");
    }
    return *t;
  }
  throw py::type_error(
      "ORMap.update(): type must be one of the classes cv.GCounter, cv.PNCounter, "
      "cv.LWWRegister, cv.MVRegister, cv.ORSet, cv.GSet, cv.Flag, got " +
      py::repr(cls).cast<std::string>());
}

// The value of `key` as a standalone snapshot of its type (a new, unbound object), or a null
// object when the key is absent.
py::object Snapshot(const ORMap& m, const Value& key) {
  std::optional<CrdtType> t = m.TypeOf(key);
  if (!t) return py::object();
  auto wrap = [](auto v) { return v ? Wrap(std::move(*v)) : py::object(); };
  switch (*t) {
    case CrdtType::kGCounter:
      return wrap(m.GetGCounter(key));
    case CrdtType::kPNCounter:
      return wrap(m.GetPNCounter(key));
    case CrdtType::kLWWRegister:
      return wrap(m.GetLWWRegister(key));
    case CrdtType::kMVRegister:
      return wrap(m.GetMVRegister(key));
    case CrdtType::kORSet:
      return wrap(m.GetORSet(key));
    case CrdtType::kGSet:
      return wrap(m.GetGSet(key));
    case CrdtType::kFlag:
      return wrap(m.GetFlag(key));
    default:
      return py::object();  // FromParts admits nestable types only
  }
}

// ---- the mapping reads all four maps share ----

// MapOf: the ORMap underneath; Get: the Python value of a key, or a null object when absent.
template <typename T>
struct MapReads;
template <>
struct MapReads<ORMap> {
  static const ORMap& MapOf(const ORMap& m) { return m; }
  static py::object Get(const ORMap& m, const Value& k) { return Snapshot(m, k); }
};
template <>
struct MapReads<LWWMap> {
  static const ORMap& MapOf(const LWWMap& m) { return m.map(); }
  static py::object Get(const LWWMap& m, const Value& k) {
    std::optional<Value> v = m.Get(k);
    return v ? FromValue(*v) : py::object();
  }
};
template <>
struct MapReads<PNCounterMap> {
  static const ORMap& MapOf(const PNCounterMap& m) { return m.map(); }
  static py::object Get(const PNCounterMap& m, const Value& k) {
    std::optional<int64_t> v = m.Get(k);
    return v ? py::object(py::int_(*v)) : py::object();
  }
};
template <>
struct MapReads<ORMultiMap> {
  static const ORMap& MapOf(const ORMultiMap& m) { return m.map(); }
  static py::object Get(const ORMultiMap& m, const Value& k) {
    return m.Contains(k) ? py::object(FromValues(m.Get(k))) : py::object();
  }
};

template <typename T>
py::list KeyList(const T& s) {
  return FromValues(MapReads<T>::MapOf(s).Keys());
}

template <typename T>
PyObject* SubscriptEntry(PyObject* self, PyObject* key) noexcept {
  return Guard([&] {
    const T& s = Read(Self<T>(self));
    py::object v = MapReads<T>::Get(s, ToValue(key));
    if (!v) {
      py::object error =
          py::reinterpret_steal<py::object>(PyObject_CallOneArg(PyExc_KeyError, key));
      if (!error) throw py::error_already_set();
      PyErr_SetObject(PyExc_KeyError, error.ptr());
      throw py::error_already_set();
    }
    return v;
  });
}

template <typename T>
void AddMapReads(ClassSpec& spec) {
  using P = PyCrdt<T>;
  spec.methods.push_back(Method<T>(
      "keys",
      [](P& self, const Call& call) {
        call.NoArgs("keys");
        return py::object(KeyList(Read(self)));
      },
      "keys($self, /)\n--\n\nThe keys, as a list in canonical order (by their msgpack bytes)."));
  spec.methods.push_back(Method<T>(
      "values",
      [](P& self, const Call& call) {
        call.NoArgs("values");
        const T& s = Read(self);
        py::list out;
        for (const Value& k : MapReads<T>::MapOf(s).Keys()) out.append(MapReads<T>::Get(s, k));
        return py::object(out);
      },
      "values($self, /)\n--\n\nThe values, as a list in the order of keys()."));
  spec.methods.push_back(Method<T>(
      "items",
      [](P& self, const Call& call) {
        call.NoArgs("items");
        const T& s = Read(self);
        py::list out;
        for (const Value& k : MapReads<T>::MapOf(s).Keys()) {
          out.append(py::make_tuple(FromValue(k), MapReads<T>::Get(s, k)));
        }
        return py::object(out);
      },
      "items($self, /)\n--\n\nThe (key, value) pairs, as a list in the order of keys()."));
  spec.methods.push_back(Method<T>(
      "get",
      [](P& self, const Call& call) {
        auto [key, fallback] = call.Parse<2>("get", {"key", "default"}, 2, 1);
        py::object v = MapReads<T>::Get(Read(self), ToValue(key));
        return v ? v : py::reinterpret_borrow<py::object>(Or(fallback, py::none()));
      },
      "get($self, /, key, default=None)\n--\n\nThe value of `key`, or `default` if absent."));
  spec.slots.push_back({Py_mp_subscript, reinterpret_cast<void*>(&SubscriptEntry<T>)});
  spec.slots.push_back(ContainsSlot<T>(
      [](P& self, py::handle k) { return MapReads<T>::MapOf(Read(self)).Contains(ToValue(k)); }));
  spec.slots.push_back(
      LengthSlot<T>([](P& self) { return MapReads<T>::MapOf(Read(self)).size(); }));
  spec.slots.push_back(
      IterSlot<T>([](P& self) { return py::object(py::iter(KeyList(Read(self)))); }));
  spec.slots.push_back(ReprSlot<T>([](P& self) {
    const T& s = Read(self);
    const std::vector<Value> keys = MapReads<T>::MapOf(s).Keys();
    std::string out = std::string(TypeName<T>()) + "({";
    for (size_t i = 0; i < keys.size() && i < kReprItems; ++i) {
      if (i > 0) out += ", ";
      out += std::string(py::repr(FromValue(keys[i]))) + ": " +
             std::string(py::repr(MapReads<T>::Get(s, keys[i])));
    }
    if (keys.size() > kReprItems) out += ", ...";
    return py::object(py::str(out + "})"));
  }));
}

// The key removal of every map class: `<kName>($self, /, key, *, replica=None)`.
constexpr char kRemove[] = "remove";
constexpr char kRemoveKey[] = "remove_key";
template <typename T, const char* kName>
PyMethodDef RemoveKeyMethod(const char* doc) {
  return Method<T>(
      kName,
      [](PyCrdt<T>& self, const Call& call) {
        auto [key, replica] = call.Parse<2>(kName, {"key", "replica"}, 1, 1);
        Value k = ToValue(key);
        BoundWriter(self, replica);
        if constexpr (std::is_same_v<T, ORMultiMap>) {
          return Delta(self, Write(self).RemoveKey(k));
        } else {
          return Delta(self, Write(self).Remove(k));
        }
      },
      doc);
}

// ---- ORMap.update(): the entry handles ----

struct Entry {
  PyCrdt<ORMap>* map;  // borrowed from update(); nullptr once it has returned
  Value key;
  CrdtType type;
  std::optional<ReplicaId> replica;  // the writer: update()'s replica=, or the map's own
  ORMap delta;                       // the join of the deltas of the mutations so far
};

struct EntryObject {
  PyObject ob_base;  // PyObject_HEAD
  Entry entry;
};

// The handle class of each nestable type, indexed by the type tag.
PyTypeObject* entry_class[static_cast<size_t>(CrdtType::kORMultiMap) + 1] = {};

Entry& AsEntry(PyObject* obj) { return reinterpret_cast<EntryObject*>(obj)->entry; }

PyCrdt<ORMap>& Target(Entry& e) {
  if (e.map == nullptr) {
    throw std::runtime_error("the handle of an ORMap entry is only valid inside update()");
  }
  return *e.map;
}
const ORMap& ReadMap(Entry& e) { return Read(Target(e)); }
ORMap& WriteMap(Entry& e) { return Write(Target(e)); }

ReplicaId Writer(Entry& e) {
  if (e.replica) return *e.replica;
  return ResolveReplica(py::none(), std::nullopt, "ORMap", "update");  // raises ValueError
}

// Joins the delta of one mutation into the handle's delta.
void Apply(Entry& e, Result<ORMap> delta) { e.delta.Join(ValueOrThrow(std::move(delta))); }

template <typename Body>
PyObject* EntryMethodEntry(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                           PyObject* kwnames) noexcept {
  return Guard([&] { return Body{}(AsEntry(self), Call{args, nargs, kwnames}); });
}
template <typename Body>
PyMethodDef EntryMethod(const char* name, Body, const char* doc) {
  return {name,
          reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&EntryMethodEntry<Body>)),
          METH_FASTCALL | METH_KEYWORDS, doc};
}
template <typename Body>
PyObject* EntryGetterEntry(PyObject* self, void*) noexcept {
  return Guard([&] { return Body{}(AsEntry(self)); });
}
template <typename Body>
PyGetSetDef EntryGetter(const char* name, Body, const char* doc) {
  return {name, &EntryGetterEntry<Body>, nullptr, doc, nullptr};
}
template <typename Body>
Py_ssize_t EntryLengthEntry(PyObject* self) noexcept {
  Py_ssize_t n = -1;
  Translate([&] { n = static_cast<Py_ssize_t>(Body{}(AsEntry(self))); });
  return n;
}
template <typename Body>
int EntryContainsEntry(PyObject* self, PyObject* x) noexcept {
  int found = -1;
  Translate([&] { found = Body{}(AsEntry(self), py::handle(x)) ? 1 : 0; });
  return found;
}
template <typename Body>
PyObject* EntryIterEntry(PyObject* self) noexcept {
  return Guard([&] { return Body{}(AsEntry(self)); });
}
template <typename Body>
PyType_Slot EntryLengthSlot(Body) {
  return {Py_sq_length, reinterpret_cast<void*>(&EntryLengthEntry<Body>)};
}
template <typename Body>
PyType_Slot EntryContainsSlot(Body) {
  return {Py_sq_contains, reinterpret_cast<void*>(&EntryContainsEntry<Body>)};
}
template <typename Body>
PyType_Slot EntryIterSlot(Body) {
  return {Py_tp_iter, reinterpret_cast<void*>(&EntryIterEntry<Body>)};
}

PyObject* EntryReprEntry(PyObject* self) noexcept {
  return Guard([&] {
    Entry& e = AsEntry(self);
    return py::object(py::str("<ORMap entry " + py::repr(FromValue(e.key)).cast<std::string>() +
                              ": " + CrdtTypeName(e.type) +
                              (e.map == nullptr ? ", expired>" : ">")));
  });
}

void EntryDealloc(PyObject* obj) {
  AsEntry(obj).~Entry();
  PyTypeObject* type = Py_TYPE(obj);
  type->tp_free(obj);
  Py_DECREF(type);
}

struct EntrySpec {
  const char* doc;
  std::vector<PyMethodDef> methods;
  std::vector<PyGetSetDef> getters;
  std::vector<PyType_Slot> slots;
};

// Creates the handle class of `T` as _core._<T>Entry (not constructible from Python). Once per T.
template <typename T>
void DefineEntryClass(py::module_& m, EntrySpec spec) {
  static std::vector<PyMethodDef> methods = std::move(spec.methods);
  static std::vector<PyGetSetDef> getters = std::move(spec.getters);
  static std::vector<PyType_Slot> slots = std::move(spec.slots);
  static const std::string attr = std::string("_") + TypeName<T>() + "Entry";
  static const std::string name = "convergent." + attr;
  methods.push_back({nullptr, nullptr, 0, nullptr});
  getters.push_back({nullptr, nullptr, nullptr, nullptr, nullptr});
  slots.push_back({Py_tp_doc, const_cast<char*>(spec.doc)});
  slots.push_back({Py_tp_dealloc, reinterpret_cast<void*>(&EntryDealloc)});
  slots.push_back({Py_tp_repr, reinterpret_cast<void*>(&EntryReprEntry)});
  slots.push_back({Py_tp_methods, methods.data()});
  slots.push_back({Py_tp_getset, getters.data()});
  slots.push_back({0, nullptr});
  static PyType_Spec type_spec{
      name.c_str(), static_cast<int>(sizeof(EntryObject)), 0,
      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
      slots.data()};
  PyObject* type = PyType_FromSpec(&type_spec);
  if (type == nullptr) throw py::error_already_set();
  entry_class[static_cast<size_t>(CrdtTypeOf<T>::value)] = reinterpret_cast<PyTypeObject*>(type);
  m.add_object(attr.c_str(), py::handle(type));
}

// The set reads of the ORSet and GSet handles: the snapshot comes from `Get` (nullopt: empty).
template <typename Set, std::optional<Set> (ORMap::*Get)(const Value&) const>
void AddEntrySetReads(EntrySpec& spec) {
  spec.methods.push_back(EntryMethod(
      "elements",
      [](Entry& e, const Call& call) {
        call.NoArgs("elements");
        std::optional<Set> s = (ReadMap(e).*Get)(e.key);
        return py::object(FromValues(s ? s->Elements() : std::vector<Value>{}));
      },
      "elements($self, /)\n--\n\nThe elements of the entry, as a list in canonical order."));
  spec.slots.push_back(EntryContainsSlot([](Entry& e, py::handle x) {
    std::optional<Set> s = (ReadMap(e).*Get)(e.key);
    return s && s->Contains(ToValue(x));
  }));
  spec.slots.push_back(EntryLengthSlot([](Entry& e) {
    std::optional<Set> s = (ReadMap(e).*Get)(e.key);
    return s ? s->size() : size_t{0};
  }));
  spec.slots.push_back(EntryIterSlot([](Entry& e) {
    std::optional<Set> s = (ReadMap(e).*Get)(e.key);
    return py::object(py::iter(FromValues(s ? s->Elements() : std::vector<Value>{})));
  }));
}

// Counter mutations: a GCounter only grows; a slot passing 2**64-1 raises OverflowError (the
// only InvalidArgument Increment returns for a valid type and sign).
void EntryIncrement(Entry& e, int64_t n) {
  if (e.type == CrdtType::kGCounter && n < 0) {
    throw py::value_error("the GCounter of an ORMap entry only grows: increment() needs n >= 0");
  }
  Result<ORMap> r = WriteMap(e).Increment(Writer(e), e.key, n, e.type);
  if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
    throw std::overflow_error(r.status().message());
  }
  Apply(e, std::move(r));
}

void DefineEntryClasses(py::module_& m) {
  DefineEntryClass<GCounter>(
      m, {"The GCounter of an ORMap entry, inside ORMap.update() only.",
          {EntryMethod(
              "increment",
              [](Entry& e, const Call& call) {
                auto [n] = call.Parse<1>("increment", {"n"}, 1, 0);
                EntryIncrement(e, ParseInt64(n, false, "increment()"));
                return py::object(py::none());
              },
              "increment($self, /, n=1)\n--\n\nAdds n >= 0 to the entry's counter.")},
          {EntryGetter(
              "value",
              [](Entry& e) {
                auto c = ReadMap(e).GetGCounter(e.key);
                return py::object(py::int_(c ? c->value() : uint64_t{0}));
              },
              "The count (0 while the key is absent).")},
          {}});

  DefineEntryClass<PNCounter>(
      m, {"The PNCounter of an ORMap entry, inside ORMap.update() only.",
          {EntryMethod(
               "increment",
               [](Entry& e, const Call& call) {
                 auto [n] = call.Parse<1>("increment", {"n"}, 1, 0);
                 EntryIncrement(e, ParseInt64(n, false, "increment()"));
                 return py::object(py::none());
               },
               "increment($self, /, n=1)\n--\n\nAdds n (a negative n subtracts)."),
           EntryMethod(
               "decrement",
               [](Entry& e, const Call& call) {
                 auto [n] = call.Parse<1>("decrement", {"n"}, 1, 0);
                 EntryIncrement(e, ParseInt64(n, true, "decrement()"));
                 return py::object(py::none());
               },
               "decrement($self, /, n=1)\n--\n\nSubtracts n (a negative n adds).")},
          {EntryGetter(
              "value",
              [](Entry& e) {
                auto c = ReadMap(e).GetPNCounter(e.key);
                return py::object(py::int_(c ? c->value() : int64_t{0}));
              },
              "The count (0 while the key is absent).")},
          {}});

  DefineEntryClass<LWWRegister>(
      m, {"The LWWRegister of an ORMap entry, inside ORMap.update() only.",
          {EntryMethod(
              "set",
              [](Entry& e, const Call& call) {
                auto [value, timestamp] = call.Parse<2>("set", {"value", "timestamp"}, 1, 1);
                Value v = ToValue(value);
                const uint64_t clock = ClockMicros(Or(timestamp, py::none()), "set()");
                Apply(e, WriteMap(e).SetRegister(Writer(e), e.key, std::move(v), clock));
                return py::object(py::none());
              },
              "set($self, /, value, *, timestamp=None)\n--\n\n"
              "Writes `value` at `timestamp` (microseconds since the epoch; default now; above "
              "every timestamp of the entry seen so far).")},
          {EntryGetter(
               "value",
               [](Entry& e) {
                 auto r = ReadMap(e).GetLWWRegister(e.key);
                 return r ? FromValue(r->value()) : py::object(py::none());
               },
               "The value written last (None while the key is absent)."),
           EntryGetter(
               "timestamp",
               [](Entry& e) {
                 auto r = ReadMap(e).GetLWWRegister(e.key);
                 return py::object(py::int_(r ? r->timestamp() : uint64_t{0}));
               },
               "The timestamp of the winning write (0 while the key is absent).")},
          {}});

  DefineEntryClass<MVRegister>(
      m, {"The MVRegister of an ORMap entry, inside ORMap.update() only.",
          {EntryMethod(
              "set",
              [](Entry& e, const Call& call) {
                auto [value] = call.Parse<1>("set", {"value"}, 1, 1);
                Apply(e, WriteMap(e).SetMultiValue(Writer(e), e.key, ToValue(value)));
                return py::object(py::none());
              },
              "set($self, /, value)\n--\n\nWrites `value`, replacing every value seen.")},
          {EntryGetter(
              "values",
              [](Entry& e) {
                auto r = ReadMap(e).GetMVRegister(e.key);
                return py::object(FromValues(r ? r->Values() : std::vector<Value>{}));
              },
              "The concurrent values (a list in canonical order).")},
          {}});

  EntrySpec orset{
      "The ORSet of an ORMap entry, inside ORMap.update() only.",
      {EntryMethod(
           "add",
           [](Entry& e, const Call& call) {
             auto [x] = call.Parse<1>("add", {"x"}, 1, 1);
             Apply(e, WriteMap(e).AddElement(Writer(e), e.key, ToValue(x), CrdtType::kORSet));
             return py::object(py::none());
           },
           "add($self, /, x)\n--\n\nAdds x."),
       EntryMethod(
           "remove",
           [](Entry& e, const Call& call) {
             auto [x] = call.Parse<1>("remove", {"x"}, 1, 1);
             Apply(e, WriteMap(e).RemoveElement(e.key, ToValue(x)));
             return py::object(py::none());
           },
           "remove($self, /, x)\n--\n\nRemoves x (the adds of it seen so far)."),
       EntryMethod(
           "clear",
           [](Entry& e, const Call& call) {
             call.NoArgs("clear");
             Apply(e, WriteMap(e).ClearSet(e.key));
             return py::object(py::none());
           },
           "clear($self, /)\n--\n\nRemoves every element seen so far.")},
      {},
      {}};
  AddEntrySetReads<ORSet, &ORMap::GetORSet>(orset);
  DefineEntryClass<ORSet>(m, std::move(orset));

  EntrySpec gset{"The GSet of an ORMap entry, inside ORMap.update() only.",
                 {EntryMethod(
                     "add",
                     [](Entry& e, const Call& call) {
                       auto [x] = call.Parse<1>("add", {"x"}, 1, 1);
                       Apply(e,
                             WriteMap(e).AddElement(Writer(e), e.key, ToValue(x), CrdtType::kGSet));
                       return py::object(py::none());
                     },
                     "add($self, /, x)\n--\n\nAdds x.")},
                 {},
                 {}};
  AddEntrySetReads<GSet, &ORMap::GetGSet>(gset);
  DefineEntryClass<GSet>(m, std::move(gset));

  DefineEntryClass<Flag>(
      m, {"The Flag of an ORMap entry, inside ORMap.update() only.",
          {EntryMethod(
              "enable",
              [](Entry& e, const Call& call) {
                call.NoArgs("enable");
                Apply(e, WriteMap(e).EnableFlag(Writer(e), e.key));
                return py::object(py::none());
              },
              "enable($self, /)\n--\n\nEnables the flag.")},
          {EntryGetter(
              "enabled",
              [](Entry& e) { return py::object(py::bool_(ReadMap(e).GetFlag(e.key).has_value())); },
              "Whether it is enabled.")},
          {}});
}

// ORMap.update(key, type, fn, *, replica=None).
py::object Update(PyCrdt<ORMap>& self, const Call& call) {
  auto [key, type, fn, replica] = call.Parse<4>("update", {"key", "type", "fn", "replica"}, 3, 3);
  Value k = ToValue(key);
  const CrdtType t = NestableType(type);
  if (!PyCallable_Check(fn)) {
    throw py::type_error("ORMap.update(): fn must be callable, got " + PyTypeName(py::handle(fn)));
  }
  const std::optional<ReplicaId> writer = BoundWriter(self, replica);
  if (std::optional<CrdtType> have = Read(self).TypeOf(k); have && *have != t) {
    ThrowKeyTypeError("ORMap.update(): key " + py::repr(key).cast<std::string>() + " holds " +
                      CrdtTypeWithArticle(*have) + ", not " + CrdtTypeWithArticle(t));
  }
  PyTypeObject* cls = entry_class[static_cast<size_t>(t)];
  PyObject* obj = cls->tp_alloc(cls, 0);
  if (obj == nullptr) throw py::error_already_set();
  new (&reinterpret_cast<EntryObject*>(obj)->entry) Entry{&self, std::move(k), t, writer, ORMap()};
  auto handle = py::reinterpret_steal<py::object>(obj);
  Entry& e = AsEntry(obj);
  struct Expire {  // whatever happens, the handle stops working when update() returns
    Entry& e;
    ~Expire() { e.map = nullptr; }
  } expire{e};
  py::object result = py::reinterpret_steal<py::object>(PyObject_CallOneArg(fn, obj));
  if (!result) {
    // The mutations made before fn raised stay applied; inside Replicator.update() they must
    // replicate too.
    py::error_already_set raised;
    if (self.sink != nullptr) JoinInto(*self.sink, std::move(e.delta));
    throw raised;
  }
  return Delta(self, std::move(e.delta));
}

}  // namespace

void RegisterMaps(py::module_& m) {
  DefineEntryClasses(m);

  using O = PyCrdt<ORMap>;
  ClassSpec ormap{
      "ORMap(*, replica=None)\n--\n\n"
      "A map from keys (user values) to nested CRDTs (GCounter, PNCounter, LWWRegister, "
      "MVRegister, ORSet, GSet, Flag). Keys are add-wins: removing a key removes what the "
      "remover saw, and an update concurrent with the removal survives. m[k] is a standalone "
      "snapshot of the key's value. `replica` (a name or an int id) writes the mutations that "
      "get no replica=.",
      {Method<ORMap>(
           "update", [](O& self, const Call& call) { return Update(self, call); },
           "update($self, /, key, type, fn, *, replica=None)\n--\n\n"
           "Calls fn(handle) with a handle of the value of `key`, of class `type` (cv.PNCounter, "
           "cv.ORSet, ...); the handle's mutators apply to the map at once, as `replica`, and "
           "their deltas are joined into the returned delta. The handle is valid only during "
           "fn. If fn raises, the mutations it made stay applied and the exception propagates "
           "(their delta is lost: merge the full state to replicate them). A key that holds "
           "another type raises KeyTypeError and nothing changes."),
       RemoveKeyMethod<ORMap, kRemove>(
           "remove($self, /, key, *, replica=None)\n--\n\n"
           "Removes `key` (what it holds so far; an absent key is a no-op); returns the delta."),
       Method<ORMap>(
           "type_of",
           [](O& self, const Call& call) {
             auto [key] = call.Parse<1>("type_of", {"key"}, 1, 1);
             std::optional<CrdtType> t = Read(self).TypeOf(ToValue(key));
             if (!t) return py::object(py::none());
             return py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(ClassOf(*t)));
           },
           "type_of($self, /, key)\n--\n\nThe value class of `key` (cv.PNCounter, ...), or None "
           "if absent.")},
      {},
      {}};
  AddMapReads<ORMap>(ormap);
  DefineCrdtClass<ORMap>(m, std::move(ormap));

  using L = PyCrdt<LWWMap>;
  ClassSpec lwwmap{
      "LWWMap(*, replica=None)\n--\n\n"
      "A map from keys to last-writer-wins values: keys are add-wins, concurrent puts of a key "
      "are decided by (timestamp, replica id, value bytes). `replica` (a name or an int id) "
      "writes the mutations that get no replica=.",
      {Method<LWWMap>(
           "put",
           [](L& self, const Call& call) {
             auto [key, value, replica, timestamp] =
                 call.Parse<4>("put", {"key", "value", "replica", "timestamp"}, 2, 2);
             Value k = ToValue(key);
             Value v = ToValue(value);
             const uint64_t clock = ClockMicros(Or(timestamp, py::none()), "LWWMap.put()");
             const ReplicaId r = WriterOf(self, replica, "put");
             return Delta(self, Write(self).Put(r, k, std::move(v), clock));
           },
           "put($self, /, key, value, *, replica=None, timestamp=None)\n--\n\n"
           "Writes `value` under `key` as `replica` at `timestamp` (microseconds since the "
           "epoch; default now; a key's writes seen so far are always overwritten); returns the "
           "delta."),
       RemoveKeyMethod<LWWMap, kRemove>(
           "remove($self, /, key, *, replica=None)\n--\n\n"
           "Removes `key` (the writes seen so far); returns the delta.")},
      {},
      {}};
  AddMapReads<LWWMap>(lwwmap);
  DefineCrdtClass<LWWMap>(m, std::move(lwwmap));

  using N = PyCrdt<PNCounterMap>;
  ClassSpec pnmap{
      "PNCounterMap(*, replica=None)\n--\n\n"
      "A map from keys to PNCounters (int values): keys are add-wins, so an increment "
      "concurrent with the key's removal survives, with this replica's whole count. `replica` "
      "(a name or an int id) writes the mutations that get no replica=.",
      {Method<PNCounterMap>(
           "increment",
           [](N& self, const Call& call) {
             auto [key, n, replica] = call.Parse<3>("increment", {"key", "n", "replica"}, 2, 1);
             Value k = ToValue(key);
             const int64_t amount = ParseInt64(n, false, "PNCounterMap.increment()");
             const ReplicaId r = WriterOf(self, replica, "increment");
             return Delta(self, Write(self).Increment(r, k, amount));
           },
           "increment($self, /, key, n=1, *, replica=None)\n--\n\n"
           "Adds n (an int64; negative subtracts) to `key` as `replica`; returns the "
           "delta."),
       Method<PNCounterMap>(
           "decrement",
           [](N& self, const Call& call) {
             auto [key, n, replica] = call.Parse<3>("decrement", {"key", "n", "replica"}, 2, 1);
             Value k = ToValue(key);
             const int64_t amount = ParseInt64(n, true, "PNCounterMap.decrement()");
             const ReplicaId r = WriterOf(self, replica, "decrement");
             return Delta(self, Write(self).Increment(r, k, amount));
           },
           "decrement($self, /, key, n=1, *, replica=None)\n--\n\n"
           "Subtracts n from `key` as `replica`; returns the delta."),
       RemoveKeyMethod<PNCounterMap, kRemove>(
           "remove($self, /, key, *, replica=None)\n--\n\n"
           "Removes `key` (the counts seen so far); returns the delta.")},
      {},
      {}};
  AddMapReads<PNCounterMap>(pnmap);
  DefineCrdtClass<PNCounterMap>(m, std::move(pnmap));

  using M = PyCrdt<ORMultiMap>;
  ClassSpec multimap{
      "ORMultiMap(*, replica=None)\n--\n\n"
      "A map from keys to sets of values (m[k] is a list in canonical order): adds win over "
      "concurrent removes, of single values and of whole keys. `replica` (a name or an int id) "
      "writes the mutations that get no replica=.",
      {Method<ORMultiMap>(
           "add",
           [](M& self, const Call& call) {
             auto [key, value, replica] = call.Parse<3>("add", {"key", "value", "replica"}, 2, 2);
             Value k = ToValue(key);
             Value v = ToValue(value);
             const ReplicaId r = WriterOf(self, replica, "add");
             return Delta(self, Write(self).Add(r, k, std::move(v)));
           },
           "add($self, /, key, value, *, replica=None)\n--\n\n"
           "Adds `value` to the values of `key` as `replica`; returns the delta."),
       Method<ORMultiMap>(
           "remove",
           [](M& self, const Call& call) {
             auto [key, value, replica] =
                 call.Parse<3>("remove", {"key", "value", "replica"}, 2, 2);
             Value k = ToValue(key);
             Value v = ToValue(value);
             BoundWriter(self, replica);
             return Delta(self, Write(self).Remove(k, v));
           },
           "remove($self, /, key, value, *, replica=None)\n--\n\n"
           "Removes `value` from `key` (the adds of it seen so far); returns the delta."),
       RemoveKeyMethod<ORMultiMap, kRemoveKey>(
           "remove_key($self, /, key, *, replica=None)\n--\n\n"
           "Removes `key` with every value seen so far; returns the delta.")},
      {},
      {}};
  AddMapReads<ORMultiMap>(multimap);
  DefineCrdtClass<ORMultiMap>(m, std::move(multimap));
}

}  // namespace convergent::bindings
