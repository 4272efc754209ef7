// cv.Replicator and cv.Subscription (pybind11 classes: these calls are not the per-operation hot
// path of the value classes), and the subscription table of ReplicaHost.
#include "py_replicator.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "convergent/codec.h"
#include "module.h"
#include "py_any.h"
#include "py_crdt.h"
#include "py_errors.h"
#include "py_value.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// ---- arguments ----

struct KeyArg {
  std::string name;
  CrdtType type;
};

// The CRDT type of a key class (its `type` attribute), remembered per class: keys are parsed on
// every call, and the classes are few. The classes are kept alive, so a pointer is never reused.
std::optional<CrdtType> KeyClassType(py::handle cls) {
  static std::vector<std::pair<PyObject*, CrdtType>> known;  // the GIL guards it
  for (const auto& [c, t] : known) {
    if (c == cls.ptr()) return t;
  }
  if (!py::hasattr(cls, "type")) return std::nullopt;
  std::optional<CrdtType> type = TypeOfClass(cls.attr("type"));
  if (type && known.size() < 64) known.emplace_back(cls.inc_ref().ptr(), *type);
  return type;
}

// The name and type of a cv.Key (or of any object whose class has a CRDT `type` and that has a
// str `name`); TypeError for anything else. A cv.Key's name is read from its slot.
KeyArg ParseKey(py::handle key, const char* where) {
  const std::optional<CrdtType> type = KeyClassType(py::type::handle_of(key));
  static const py::handle slot = py::str("_name").release();
  static const py::handle attr = py::str("name").release();
  PyObject* name = type ? PyObject_GetAttr(key.ptr(), slot.ptr()) : nullptr;
  if (type && name == nullptr) {
    PyErr_Clear();
    name = PyObject_GetAttr(key.ptr(), attr.ptr());
    if (name == nullptr) PyErr_Clear();
  }
  if (name == nullptr) {
    throw py::type_error(std::string("Replicator.") + where +
                         "(): key must be a convergent key such as cv.ORSetKey('cart'), got " +
                         PyTypeName(key));
  }
  const py::object owned = py::reinterpret_steal<py::object>(name);
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &size) : nullptr;
  if (utf8 == nullptr) {
    PyErr_Clear();
    throw py::type_error("a key's name must be a str (of valid Unicode)");
  }
  return {std::string(utf8, static_cast<size_t>(size)), *type};
}

Consistency ParseLevel(py::handle level, const char* param) {
  if (PyLong_Check(level.ptr()) && !PyBool_Check(level.ptr())) {
    const long v = PyLong_AsLong(level.ptr());
    if (v == 0) return Consistency::kLocal;
    if (v == 1) return Consistency::kMajority;
    if (v == 2) return Consistency::kAll;
    if (v == 3) return Consistency::kDcMajority;
    if (v == 4) return Consistency::kDcAll;
    if (v == -1 && PyErr_Occurred()) PyErr_Clear();
  }
  static PyObject* to_class = nullptr;  // cv.To (the GIL guards it)
  if (to_class == nullptr) {
    to_class = py::object(py::module_::import("convergent.config").attr("To")).release().ptr();
  }
  if (PyObject_IsInstance(level.ptr(), to_class) == 1) {
    const long long n = level.attr("n").cast<long long>();  // cv.To checked 1 <= n < 2**31
    return Consistency::To(static_cast<uint32_t>(n));
  }
  static PyObject* majority_class = nullptr;  // cv.Majority
  if (majority_class == nullptr) {
    majority_class =
        py::object(py::module_::import("convergent.config").attr("Majority")).release().ptr();
  }
  if (PyObject_IsInstance(level.ptr(), majority_class) == 1) {  // checked 0 <= both < 2**31
    return Consistency::Majority(static_cast<uint32_t>(level.attr("plus").cast<long long>()),
                                 static_cast<uint32_t>(level.attr("min_cap").cast<long long>()));
  }
  throw py::value_error(
      std::string(param) +
      " must be cv.LOCAL, cv.MAJORITY, cv.ALL, cv.DC_MAJORITY, cv.DC_ALL, cv.To(n) or "
      "cv.Majority(...), got " +
      py::repr(level).cast<std::string>());
}

std::optional<double> ParseTimeout(py::handle timeout) {
  if (timeout.is_none()) return std::nullopt;
  if (PyBool_Check(timeout.ptr()) ||
      !(PyLong_Check(timeout.ptr()) || PyFloat_Check(timeout.ptr()))) {
    throw py::type_error("timeout must be a number of seconds or None, got " + PyTypeName(timeout));
  }
  const double t = timeout.cast<double>();
  if (!(t > 0 && t < 1e9)) throw py::value_error("timeout must be > 0 seconds");
  return t;
}

// A Key object of `type` named `name` (convergent.keys builds it).
py::object KeyObject(CrdtType type, const std::string& name) {
  static py::handle make =
      py::object(py::module_::import("convergent.keys").attr("key_of_type")).release();
  return make(CrdtTypeName(type), name);
}

py::object EventClass(const char* name) {
  return py::module_::import("convergent.events").attr(name);
}

// ---- the handle's operations ----

ReplicatorHandle& Handle(py::handle self) { return self.cast<ReplicatorHandle&>(); }

void RaiseCompletion(const Completion& c, bool write) {
  if (c.status.ok()) return;
  if (c.status.code() == StatusCode::kTimeout) {
    ThrowError(
        write ? PyError::kWriteTimeout : PyError::kReadTimeout,
        c.status.message() + (write ? " (the write is applied locally and still replicates)" : ""));
  }
  ThrowStatus(c.status);
}

void Update(ReplicatorHandle& h, py::handle key, py::handle fn, py::handle write,
            py::handle timeout) {
  const KeyArg k = ParseKey(key, "update");
  if (!PyCallable_Check(fn.ptr())) {
    throw py::type_error("Replicator.update(): fn must be callable, got " + PyTypeName(fn));
  }
  const Consistency level = ParseLevel(write, "write");
  const std::optional<double> t = ParseTimeout(timeout);
  PythonMutation mutation(fn, h.replica);
  const Result<RequestId> request =
      h.host->Request(h.node, h.incarnation, [&](Replicator& r, TimeMicros now) {
        return r.Update(
            k.name, k.type,
            [&](AnyCrdt& value) {
              // LWW writes take the wall clock (the simulator's is virtual and skewable).
              return mutation(value,
                              static_cast<uint64_t>(std::max<TimeMicros>(r.WallTime(now), 0)));
            },
            level, now, t);
      });
  h.host->DispatchEvents();
  mutation.RethrowIfRaised();
  if (!request.ok()) ThrowStatus(request.status());
  if (*request == 0) return;
  const Completion c = h.host->Await(h.node, h.incarnation, *request);
  h.host->DispatchEvents();
  RaiseCompletion(c, true);
}

// update_many: the (key, fn) pairs of `updates` applied in order, a chunk of them under one
// request (one take of the node's lock, one release of the GIL); coordinated writes go one
// request each, at most kCoordinatedInFlight waiting at a time. The first fn that raises, update
// the node refuses, or item that is not a pair ends it: the updates before it stay applied (and
// replicate), the later ones are not applied.
constexpr size_t kUpdateChunk = 1024;
// Coordinated writes in flight at once: each sends frames of its own to the peers, and many at
// once overflow a transport's send queue (dropped sends wait for the resend interval).
constexpr size_t kCoordinatedInFlight = 16;

struct UpdateItem {
  KeyArg key;
  py::object fn;
};

// The next (key, fn) pair of the iteration; TypeError naming what is wrong.
UpdateItem ParseUpdateItem(py::handle item) {
  if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2) {
    throw py::type_error("Replicator.update_many(): each update must be a (key, fn) pair, got " +
                         PyTypeName(item));
  }
  py::handle fn = PyTuple_GET_ITEM(item.ptr(), 1);
  if (!PyCallable_Check(fn.ptr())) {
    throw py::type_error("Replicator.update_many(): fn must be callable, got " + PyTypeName(fn));
  }
  return {ParseKey(PyTuple_GET_ITEM(item.ptr(), 0), "update_many"),
          py::reinterpret_borrow<py::object>(fn)};
}

void UpdateMany(ReplicatorHandle& h, py::handle updates, py::handle write, py::handle timeout) {
  const Consistency level = ParseLevel(write, "write");
  const std::optional<double> t = ParseTimeout(timeout);
  py::iterator it = py::iter(updates);
  // A node tracks one coordinated write per request: those go one by one.
  const size_t per_request = level == Consistency::kLocal ? kUpdateChunk : 1;
  std::vector<UpdateItem> chunk;
  std::vector<RequestId> waiting;
  chunk.reserve(per_request);
  std::optional<Completion> failed;  // the first coordinated write that failed
  const auto await_first = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const Completion c = h.host->Await(h.node, h.incarnation, waiting[i]);
      if (!c.status.ok() && !failed) failed = c;
    }
    waiting.erase(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(n));
  };
  std::exception_ptr bad_item;  // a pair that is not one, or the iteration raised: after the
                                // pairs before it are applied
  for (bool more = true; more && !bad_item;) {
    chunk.clear();
    try {
      for (; chunk.size() < per_request && it != py::iterator::sentinel(); ++it) {
        chunk.push_back(ParseUpdateItem(*it));
      }
    } catch (...) {
      bad_item = std::current_exception();
    }
    more = chunk.size() == per_request;
    if (chunk.empty()) break;
    std::optional<PythonMutation> mutation;  // the one that raised stays to rethrow
    const Result<RequestId> request =
        h.host->Request(h.node, h.incarnation, [&](Replicator& r, TimeMicros now) {
          const auto clock = static_cast<uint64_t>(std::max<TimeMicros>(r.WallTime(now), 0));
          Result<RequestId> id = RequestId{0};
          for (const UpdateItem& u : chunk) {
            mutation.emplace(u.fn, h.replica);
            id = r.Update(
                u.key.name, u.key.type, [&](AnyCrdt& value) { return (*mutation)(value, clock); },
                level, now, t);
            if (mutation->raised()) return Result<RequestId>(RequestId{0});
            if (!id.ok()) return id;
          }
          return id;  // 0 at LOCAL; the one update's otherwise
        });
    h.host->DispatchEvents();
    if (mutation) mutation->RethrowIfRaised();
    if (!request.ok()) ThrowStatus(request.status());
    if (*request != 0) waiting.push_back(*request);
    if (waiting.size() >= kCoordinatedInFlight) await_first(waiting.size() / 2);
  }
  await_first(waiting.size());
  h.host->DispatchEvents();
  if (bad_item) std::rethrow_exception(bad_item);
  if (failed) RaiseCompletion(*failed, true);
}

void Delete(ReplicatorHandle& h, py::handle key, py::handle write, py::handle timeout) {
  const KeyArg k = ParseKey(key, "delete");
  const Consistency level = ParseLevel(write, "write");
  const std::optional<double> t = ParseTimeout(timeout);
  const Result<RequestId> request = h.host->Request(
      h.node, h.incarnation,
      [&](Replicator& r, TimeMicros now) { return r.Delete(k.name, k.type, level, now, t); });
  h.host->DispatchEvents();
  if (!request.ok()) ThrowStatus(request.status());
  if (*request == 0) return;
  const Completion c = h.host->Await(h.node, h.incarnation, *request);
  h.host->DispatchEvents();
  RaiseCompletion(c, true);
}

py::object Get(ReplicatorHandle& h, py::handle key, py::handle read, py::handle timeout) {
  const KeyArg k = ParseKey(key, "get");
  const Consistency level = ParseLevel(read, "read");
  const std::optional<double> t = ParseTimeout(timeout);
  if (level == Consistency::kLocal) {
    py::object out = py::none();
    h.host->Run(h.node, h.incarnation, [&](Replicator& r, TimeMicros) {
      Result<const AnyCrdt*> v = r.Get(k.name, k.type);
      if (!v.ok()) ThrowStatus(v.status());
      if (*v != nullptr) out = WrapAny(**v);
    });
    return out;
  }
  const Result<RequestId> request = h.host->Request(
      h.node, h.incarnation,
      [&](Replicator& r, TimeMicros now) { return r.Read(k.name, k.type, level, now, t); });
  if (!request.ok()) ThrowStatus(request.status());
  const Completion c = h.host->Await(h.node, h.incarnation, *request);
  h.host->DispatchEvents();
  RaiseCompletion(c, false);
  if (!c.value || c.deleted) return py::none();
  return WrapAny(*c.value);
}

py::list Keys(ReplicatorHandle& h) {
  std::vector<std::pair<std::string, CrdtType>> keys;
  h.host->Run(h.node, h.incarnation, [&](Replicator& r, TimeMicros) { keys = r.Keys(); });
  py::list out;
  for (const auto& [name, type] : keys) out.append(KeyObject(type, name));
  return out;
}

bool Deleted(ReplicatorHandle& h, py::handle key) {
  const KeyArg k = ParseKey(key, "deleted");
  bool deleted = false;
  h.host->Run(h.node, h.incarnation,
              [&](Replicator& r, TimeMicros) { deleted = r.IsDeleted(k.name); });
  return deleted;
}

py::dict Metrics(ReplicatorHandle& h) {
  std::map<std::string, double> named;
  h.host->Run(h.node, h.incarnation, [&](Replicator& r, TimeMicros) { named = r.NamedMetrics(); });
  py::dict out;
  for (const auto& [name, v] : named) {
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
      out[py::str(name)] = py::int_(static_cast<long long>(v));
    } else {
      out[py::str(name)] = py::float_(v);
    }
  }
  return out;
}

std::string Repr(const ReplicatorHandle& h) {
  char id[32];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(h.replica.value));
  return "<Replicator " + h.host->Describe(h.node) + ", replica " + id +
         (h.host->IsLive(h.node, h.incarnation) ? "" : ", down") + ">";
}

// cv.Subscription.
struct SubscriptionHandle {
  std::shared_ptr<ReplicaHost> host;
  uint64_t id;
  py::object key;
  bool active = true;
};

}  // namespace

// ---- ReplicaHost: subscriptions ----

uint64_t ReplicaHost::Subscribe(NodeId id, uint64_t incarnation, const std::string& name,
                                CrdtType type, py::object key, py::object callback) {
  Run(id, incarnation, [&](Replicator& r, TimeMicros) { r.Subscribe(name); });
  const uint64_t sub = next_subscription_++;
  subscribers_[{id, name}].push_back(Subscriber{sub, type, std::move(key), std::move(callback)});
  places_.emplace(sub, Place{id, incarnation, name});
  return sub;
}

void ReplicaHost::Unsubscribe(uint64_t subscription) {
  auto place = places_.find(subscription);
  if (place == places_.end()) return;
  const Place p = place->second;
  places_.erase(place);
  auto it = subscribers_.find({p.node, p.name});
  if (it != subscribers_.end()) {
    std::erase_if(it->second, [&](const Subscriber& s) { return s.id == subscription; });
    if (it->second.empty()) subscribers_.erase(it);
  }
  if (IsLive(p.node, p.incarnation)) {
    Run(p.node, p.incarnation, [&](Replicator& r, TimeMicros) { r.Unsubscribe(p.name); });
  }
}

void ReplicaHost::DropSubscriptions(NodeId id) {
  std::erase_if(places_, [&](const auto& kv) { return kv.second.node == id; });
  std::erase_if(subscribers_, [&](const auto& kv) { return kv.first.first == id; });
}

void ReplicaHost::Deliver(NodeId id, const std::vector<ReplicaEvent>& events) {
  if (events.empty()) return;
  static py::handle changed = EventClass("Changed").release();
  static py::handle deleted = EventClass("Deleted").release();
  static py::handle expired = EventClass("Expired").release();
  for (const ReplicaEvent& e : events) {
    auto it = subscribers_.find({id, e.key});
    if (it == subscribers_.end()) continue;
    const std::vector<Subscriber> subs = it->second;  // a callback may (un)subscribe
    for (const Subscriber& s : subs) {
      if (s.type != e.type) continue;
      py::object event = e.kind == ReplicaEvent::Kind::kChanged   ? changed(s.key, WrapAny(e.value))
                         : e.kind == ReplicaEvent::Kind::kExpired ? expired(s.key)
                                                                  : deleted(s.key);
      PyObject* result = PyObject_CallOneArg(s.callback.ptr(), event.ptr());
      if (result == nullptr) {
        PyErr_WriteUnraisable(s.callback.ptr());
      } else {
        Py_DECREF(result);
      }
    }
  }
}

// ---- Python classes ----

py::object MakeHandle(std::shared_ptr<ReplicaHost> host, NodeId node, uint64_t incarnation,
                      ReplicaId replica) {
  return py::cast(ReplicatorHandle{std::move(host), node, incarnation, replica});
}

void RegisterReplicator(py::module_& m) {
  py::class_<SubscriptionHandle>(m, "Subscription", py::is_final(),
                                 "A subscription made by Replicator.subscribe(); cancel() ends "
                                 "it (or use it as a context manager).")
      .def(
          "cancel",
          [](SubscriptionHandle& s) {
            if (!s.active) return;
            s.active = false;
            s.host->Unsubscribe(s.id);
          },
          "Stops the callbacks (cancelling twice does nothing).")
      .def_property_readonly(
          "active", [](const SubscriptionHandle& s) { return s.active; }, "False once cancelled.")
      .def_property_readonly(
          "key", [](const SubscriptionHandle& s) { return s.key; }, "The subscribed key.")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__",
          [](SubscriptionHandle& s, py::handle, py::handle, py::handle) {
            if (s.active) {
              s.active = false;
              s.host->Unsubscribe(s.id);
            }
          },
          py::arg("exc_type"), py::arg("exc"), py::arg("tb"))
      .def("__repr__", [](const SubscriptionHandle& s) {
        return "<Subscription " + py::repr(s.key).cast<std::string>() +
               (s.active ? "" : " cancelled") + ">";
      });

  py::class_<ReplicatorHandle>(
      m, "Replicator", py::is_final(),
      "The replicator of one node (one incarnation of it): typed keys updated locally and "
      "replicated to the other nodes. Handles come from Simulation.nodes, restart() and "
      "add_node(); once the node crashes or restarts this handle raises NodeDownError.")
      .def(
          "update",
          [](ReplicatorHandle& h, py::handle key, py::handle fn, py::handle write,
             py::handle timeout) { Update(h, key, fn, write, timeout); },
          py::arg("key"), py::arg("fn"), py::kw_only(), py::arg("write") = 0,
          py::arg("timeout") = py::none(),
          "Calls fn(value) with the key's value (a handle of the key's type; empty when the key "
          "is absent) and applies and replicates its mutations. write=cv.MAJORITY or cv.ALL "
          "waits until that many replicas applied it (WriteTimeout after `timeout`, default "
          "Config.coordination_timeout). KeyTypeError when the key is stored with another "
          "type, KeyDeletedError while its tombstone lives. If fn raises, the mutations it made "
          "before stay applied and the exception propagates.")
      .def(
          "update_many",
          [](ReplicatorHandle& h, py::handle updates, py::handle write, py::handle timeout) {
            UpdateMany(h, updates, write, timeout);
          },
          py::arg("updates"), py::kw_only(), py::arg("write") = 0, py::arg("timeout") = py::none(),
          "Applies an iterable of (key, fn) pairs in order, each as update(key, fn) would, "
          "taking the node's lock once per 1,024 of them: the fast way to make many updates. "
          "write=cv.MAJORITY or cv.ALL waits until that many replicas applied every one (16 "
          "such writes in flight at a time; WriteTimeout after `timeout`). The first fn that "
          "raises, or update that fails (KeyTypeError, KeyDeletedError), or item that is not a "
          "(key, fn) pair (TypeError), ends it: the updates before it stay applied, later ones "
          "are not applied, and the error propagates.")
      .def(
          "get",
          [](ReplicatorHandle& h, py::handle key, py::handle read, py::handle timeout) {
            return Get(h, key, read, timeout);
          },
          py::arg("key"), py::kw_only(), py::arg("read") = 0, py::arg("timeout") = py::none(),
          "The key's value (a snapshot; None when absent or deleted). read=cv.MAJORITY or cv.ALL "
          "asks that many replicas and merges their answers (ReadTimeout after `timeout`).")
      .def(
          "delete",
          [](ReplicatorHandle& h, py::handle key, py::handle write, py::handle timeout) {
            Delete(h, key, write, timeout);
          },
          py::arg("key"), py::kw_only(), py::arg("write") = 0, py::arg("timeout") = py::none(),
          "Deletes the key everywhere: a tombstone replicates, and updates of the key are "
          "rejected while it lives (Config.tombstone_ttl).")
      .def(
          "subscribe",
          [](py::object self, py::handle key, py::object callback) {
            ReplicatorHandle& h = Handle(self);
            const KeyArg k = ParseKey(key, "subscribe");
            if (!PyCallable_Check(callback.ptr())) {
              throw py::type_error("Replicator.subscribe(): callback must be callable, got " +
                                   PyTypeName(callback));
            }
            py::object key_obj = py::reinterpret_borrow<py::object>(key);
            const uint64_t id = h.host->Subscribe(h.node, h.incarnation, k.name, k.type, key_obj,
                                                  std::move(callback));
            return SubscriptionHandle{h.host, id, key_obj, true};
          },
          py::arg("key"), py::arg("callback"),
          "Calls callback(event) with cv.Changed(key, value) whenever the key's value really "
          "changes on this node (a local update or a merge), cv.Deleted(key) when it is "
          "deleted, and cv.Expired(key) when it expires (Config.expire_keys_after_inactivity). "
          "Returns a Subscription (cancel() it to stop).")
      .def("keys", &Keys, "The live keys of this node, by name.")
      .def("deleted", &Deleted, py::arg("key"),
           "True while a tombstone of the key lives on this node (get() gives None both for "
           "a deleted key and for one never written).")
      .def("metrics", &Metrics,
           "The replicator's counters: crdt.replicator.store.size, .merge.count, "
           ".delta.publish.count, ..., bytes and frames per message kind.")
      .def_property_readonly(
          "id", [](const ReplicatorHandle& h) { return h.replica.value; },
          "The replica id (unique per incarnation: a restarted node has a new one).")
      .def_property_readonly(
          "datacenter",
          [](const ReplicatorHandle& h) -> py::object {
            const std::string dc = h.host->DatacenterOf(h.node);
            return dc.empty() ? py::object(py::none()) : py::object(py::str(dc));
          },
          "The node's datacenter (None when the cluster has no datacenters).")
      .def_property_readonly(
          "node", [](const ReplicatorHandle& h) { return h.node; },
          "The node's id in its cluster (stable across restarts).")
      .def_property_readonly(
          "alive", [](const ReplicatorHandle& h) { return h.host->IsLive(h.node, h.incarnation); },
          "True while this incarnation of the node is up.")
      .def("__repr__", &Repr)
      .def(
          "__eq__",
          [](const ReplicatorHandle& a, py::handle other) {
            if (!py::isinstance<ReplicatorHandle>(other)) return false;
            const auto& b = other.cast<const ReplicatorHandle&>();
            return a.host == b.host && a.node == b.node && a.incarnation == b.incarnation;
          },
          py::arg("other"))
      .def("__hash__", [](const ReplicatorHandle& h) {
        return py::hash(
            py::make_tuple(reinterpret_cast<uintptr_t>(h.host.get()), h.node, h.incarnation));
      });
  m.def(
      "_mutate",
      [](py::handle cls, py::handle state, py::handle fn, uint64_t replica) {
        const std::optional<CrdtType> type = TypeOfClass(cls);
        if (!type) throw py::type_error("_mutate(): cls must be a CRDT value class");
        AnyCrdt value = ValueOrThrow(AnyCrdt::Empty(*type));
        if (!state.is_none()) {
          BytesArg bytes(state, "_mutate()");
          value = ValueOrThrow(DecodeAny(bytes.view()));
          if (value.type() != *type) ThrowKeyTypeError("_mutate(): the state has another type");
        }
        PythonMutation mutation(fn, ReplicaId{replica});
        Result<AnyCrdt> delta = mutation(value);
        mutation.RethrowIfRaised();
        return py::bytes(EncodeAny(ValueOrThrow(std::move(delta))));
      },
      py::arg("cls"), py::arg("state"), py::arg("fn"), py::arg("replica"),
      "Runs fn on a handle of `cls` holding `state` (bytes, or None: empty) as `replica`, as "
      "Replicator.update() does, and returns the encoded delta (for remote nodes).");
  m.attr("Subscription").attr("__module__") = "convergent";
  m.attr("Replicator").attr("__module__") = "convergent";
}

}  // namespace convergent::bindings
