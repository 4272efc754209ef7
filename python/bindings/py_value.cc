#include "py_value.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <utility>

#include "convergent/codec.h"
#include "py_errors.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// ---- Python -> canonical msgpack ----

// msgpack-c's packer writes to any object with write(const char*, size_t).
struct StringSink {
  std::string* out;
  void write(const char* p, size_t n) { out->append(p, n); }
};

uint32_t CheckedLength(Py_ssize_t n, const char* what) {
  if (static_cast<uint64_t>(n) > std::numeric_limits<uint32_t>::max()) {
    throw py::value_error(std::string(what) + " too long for msgpack (over 2**32-1 items/bytes)");
  }
  return static_cast<uint32_t>(n);
}

[[noreturn]] void ThrowTooDeep() {
  throw py::value_error("convergent values may nest containers at most " +
                        std::to_string(kMaxValueDepth) + " deep");
}

// Packs one object tree. No Python code runs while packing (no __hash__, __eq__, __index__ or
// allocation of Python objects), so the containers being walked cannot change under it.
class Packer {
 public:
  explicit Packer(std::string* out) : sink_{out}, pk_(sink_) {}

  void Pack(PyObject* o, int depth) {
    if (PyUnicode_Check(o)) {  // first: the common element type
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(o, &n);
      if (s == nullptr) throw py::error_already_set();  // lone surrogates: UnicodeEncodeError
      const uint32_t len = CheckedLength(n, "str");
      pk_.pack_str(len);
      pk_.pack_str_body(s, len);
    } else if (PyLong_Check(o)) {
      if (o == Py_True) {
        pk_.pack_true();
      } else if (o == Py_False) {
        pk_.pack_false();
      } else {
        PackInt(o);
      }
    } else if (o == Py_None) {
      pk_.pack_nil();
    } else if (PyFloat_Check(o)) {
      PackFloat64(PyFloat_AS_DOUBLE(o));
    } else if (PyBytes_Check(o)) {
      PackBin(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o));
    } else if (PyByteArray_Check(o)) {
      PackBin(PyByteArray_AS_STRING(o), PyByteArray_GET_SIZE(o));
    } else if (PyMemoryView_Check(o)) {
      PackBuffer(o);
    } else if (PyList_Check(o) || PyTuple_Check(o)) {
      if (depth >= kMaxValueDepth) ThrowTooDeep();
      const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
      pk_.pack_array(CheckedLength(n, "list"));
      PyObject** items = PySequence_Fast_ITEMS(o);
      for (Py_ssize_t i = 0; i < n; ++i) Pack(items[i], depth + 1);
    } else if (PyDict_Check(o)) {
      if (depth >= kMaxValueDepth) ThrowTooDeep();
      PackDict(o, depth);
    } else {
      throw py::type_error(
          std::string("convergent values must be msgpack-serializable (None, bool, int, float, "
                      "str, bytes, list, tuple, dict), got ") +
          Py_TYPE(o)->tp_name);
    }
  }

 private:
  void PackInt(PyObject* o) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      pk_.pack_int64(v);  // msgpack-c picks the smallest form, unsigned when v >= 0
      return;
    }
    if (overflow > 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(o);
      if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
        pk_.pack_uint64(u);
        return;
      }
      PyErr_Clear();
    }
    const auto bits = py::reinterpret_borrow<py::object>(o).attr("bit_length")().cast<size_t>();
    throw py::value_error(
        "integers in convergent values must fit in 64 bits (-2**63 <= n < 2**64), got one of " +
        std::to_string(bits) + " bits");
  }

  // Always float64, every NaN as the quiet NaN 0x7ff8000000000000 (the codec's canonical form).
  // Not msgpack-c's pack_double: it writes integral doubles (and -0.0) as ints, which would make
  // 1.0 the same element as 1.
  void PackFloat64(double d) {
    uint64_t bits = 0x7ff8000000000000ull;
    if (!std::isnan(d)) std::memcpy(&bits, &d, sizeof bits);
    char buf[9];
    buf[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    sink_.write(buf, sizeof buf);
  }

  void PackBin(const char* data, Py_ssize_t n) {
    const uint32_t len = CheckedLength(n, "bytes");
    pk_.pack_bin(len);
    pk_.pack_bin_body(data, len);
  }

  void PackBuffer(PyObject* o) {  // a memoryview, possibly strided: copied out contiguously
    Py_buffer view;
    if (PyObject_GetBuffer(o, &view, PyBUF_FULL_RO) != 0) throw py::error_already_set();
    std::string bytes(static_cast<size_t>(view.len), '\0');
    const int rc = PyBuffer_ToContiguous(bytes.data(), &view, view.len, 'C');
    PyBuffer_Release(&view);
    if (rc != 0) throw py::error_already_set();
    PackBin(bytes.data(), static_cast<Py_ssize_t>(bytes.size()));
  }

  // Map entries are ordered by the canonical bytes of their keys.
  void PackDict(PyObject* o, int depth) {
    std::vector<std::pair<std::string, std::string>> entries;
    entries.reserve(static_cast<size_t>(PyDict_GET_SIZE(o)));
    Py_ssize_t pos = 0;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    while (PyDict_Next(o, &pos, &key, &value)) {
      auto& e = entries.emplace_back();
      Packer(&e.first).Pack(key, depth + 1);
      Packer(&e.second).Pack(value, depth + 1);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < entries.size(); ++i) {
      if (entries[i].first == entries[i - 1].first) {
        throw py::value_error("two keys of a dict have the same msgpack encoding");
      }
    }
    pk_.pack_map(CheckedLength(static_cast<Py_ssize_t>(entries.size()), "dict"));
    for (const auto& [k, v] : entries) {
      sink_.write(k.data(), k.size());
      sink_.write(v.data(), v.size());
    }
  }

  StringSink sink_;
  msgpack::packer<StringSink> pk_;
};

// ---- canonical msgpack -> Python ----

// Reads the msgpack bytes of a Value. The bytes were validated when the Value was made; the
// reader still checks every length, so a bug elsewhere surfaces as DecodeError, not a crash.
class Unpacker {
 public:
  explicit Unpacker(std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool AtEnd() const { return p_ == end_; }

  // as_key: the object is a map key, so arrays become (hashable) tuples.
  py::object Read(bool as_key, int depth) {
    if (depth > kMaxValueDepth) Corrupt();
    const unsigned char b = *Take(1);
    if (b <= 0x7f) return py::int_(b);
    if (b >= 0xe0) return py::int_(static_cast<int8_t>(b));
    if ((b & 0xe0) == 0xa0) return Str(b & 0x1f);
    if ((b & 0xf0) == 0x90) return Array(b & 0x0f, as_key, depth);
    if ((b & 0xf0) == 0x80) return Map(b & 0x0f, as_key, depth);
    switch (b) {
      case 0xc0:
        return py::none();
      case 0xc2:
        return py::bool_(false);
      case 0xc3:
        return py::bool_(true);
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const size_t n = Uint(size_t{1} << (b - 0xc4));
        const char* data = reinterpret_cast<const char*>(Take(n));
        return py::bytes(data, n);
      }
      case 0xca: {
        const uint32_t bits = static_cast<uint32_t>(Uint(4));
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return py::float_(f);
      }
      case 0xcb: {
        const uint64_t bits = Uint(8);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return py::float_(d);
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
        return py::reinterpret_steal<py::object>(
            PyLong_FromUnsignedLongLong(Uint(size_t{1} << (b - 0xcc))));
      case 0xd0:
        return py::int_(static_cast<int8_t>(Uint(1)));
      case 0xd1:
        return py::int_(static_cast<int16_t>(Uint(2)));
      case 0xd2:
        return py::int_(static_cast<int32_t>(Uint(4)));
      case 0xd3:
        return py::reinterpret_steal<py::object>(
            PyLong_FromLongLong(static_cast<int64_t>(Uint(8))));
      case 0xd9:
      case 0xda:
      case 0xdb:
        return Str(Uint(size_t{1} << (b - 0xd9)));
      case 0xdc:
      case 0xdd:
        return Array(Uint(b == 0xdc ? 2 : 4), as_key, depth);
      case 0xde:
      case 0xdf:
        return Map(Uint(b == 0xde ? 2 : 4), as_key, depth);
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        throw py::value_error("msgpack ext values have no Python form in convergent");
      default:
        Corrupt();
    }
  }

 private:
  [[noreturn]] static void Corrupt() { ThrowDecodeError("corrupt msgpack value"); }

  const unsigned char* Take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) Corrupt();
    const unsigned char* at = p_;
    p_ += n;
    return at;
  }
  uint64_t Uint(size_t width) {  // big-endian
    const unsigned char* at = Take(width);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | at[i];
    return v;
  }
  py::object Str(size_t n) {
    const char* data = reinterpret_cast<const char*>(Take(n));
    PyObject* s = PyUnicode_DecodeUTF8(data, static_cast<Py_ssize_t>(n), "strict");
    if (s == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(s);
  }
  py::object Array(size_t n, bool as_key, int depth) {
    if (n > static_cast<size_t>(end_ - p_)) Corrupt();  // every item takes at least one byte
    PyObject* seq =
        as_key ? PyTuple_New(static_cast<Py_ssize_t>(n)) : PyList_New(static_cast<Py_ssize_t>(n));
    if (seq == nullptr) throw py::error_already_set();
    auto owner = py::reinterpret_steal<py::object>(seq);
    for (size_t i = 0; i < n; ++i) {
      PyObject* item = Read(as_key, depth + 1).release().ptr();
      if (as_key) {
        PyTuple_SET_ITEM(seq, static_cast<Py_ssize_t>(i), item);
      } else {
        PyList_SET_ITEM(seq, static_cast<Py_ssize_t>(i), item);
      }
    }
    return owner;
  }
  py::object Map(size_t n, bool as_key, int depth) {
    if (as_key)
      throw py::value_error("a msgpack map used as a map key has no hashable Python form");
    if (n > static_cast<size_t>(end_ - p_) / 2) Corrupt();
    py::dict d;
    for (size_t i = 0; i < n; ++i) {
      py::object k = Read(true, depth + 1);
      py::object v = Read(false, depth + 1);
      if (PyDict_SetItem(d.ptr(), k.ptr(), v.ptr()) != 0) throw py::error_already_set();
    }
    return d;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace

Value ToValue(py::handle obj) {
  std::string out;
  Packer(&out).Pack(obj.ptr(), 0);
  return Value::FromCanonical(std::move(out));
}

py::object FromValue(const Value& v) {
  Unpacker u(v.bytes());
  py::object o = u.Read(false, 0);
  if (!u.AtEnd()) ThrowDecodeError("corrupt msgpack value: trailing bytes");
  return o;
}

py::list FromValues(const std::vector<Value>& values) {
  py::list out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), FromValue(values[i]).release().ptr());
  }
  return out;
}

BytesArg::BytesArg(py::handle obj, const char* what) {
  if (PyBytes_Check(obj.ptr())) {
    keep_ = py::reinterpret_borrow<py::object>(obj);
    view_ = std::string_view(PyBytes_AS_STRING(obj.ptr()),
                             static_cast<size_t>(PyBytes_GET_SIZE(obj.ptr())));
    return;
  }
  if (!PyObject_CheckBuffer(obj.ptr())) {
    throw py::type_error(std::string(what) + " expects bytes, got " + Py_TYPE(obj.ptr())->tp_name);
  }
  Py_buffer view;
  if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_FULL_RO) != 0) throw py::error_already_set();
  copy_.resize(static_cast<size_t>(view.len));
  const int rc = PyBuffer_ToContiguous(copy_.data(), &view, view.len, 'C');
  PyBuffer_Release(&view);
  if (rc != 0) throw py::error_already_set();
  view_ = copy_;
}

void RegisterValueFunctions(py::module_& m) {
  m.def(
      "pack_value", [](py::handle obj) { return py::bytes(ToValue(obj).bytes()); }, py::arg("obj"),
      "The canonical msgpack bytes of a user value (its identity as a set element or map key).");
  m.def(
      "unpack_value",
      [](py::handle data) {
        return FromValue(ValueOrThrow(ValueFromMsgpack(BytesArg(data, "unpack_value").view())));
      },
      py::arg("data"), "The Python form of msgpack bytes (validated by the codec first).");
  m.def(
      "canonical_msgpack",
      [](py::handle data) {
        return py::bytes(
            ValueOrThrow(ValueFromMsgpack(BytesArg(data, "canonical_msgpack").view())).bytes());
      },
      py::arg("data"), "The codec's canonical form of msgpack bytes (ValueFromMsgpack).");
}

}  // namespace convergent::bindings
