// Conversion between Python objects and user values (convergent::Value, canonical msgpack).
//
// Python -> Value: None, bool, int (int64/uint64 range), float (float64), str (UTF-8),
// bytes/bytearray/memoryview (bin), list/tuple (array) and dict (map, entries sorted by the
// canonical bytes of their keys) are packed straight into canonical msgpack, byte for byte what
// the codec's ValueFromMsgpack would produce. Anything else raises TypeError naming the type;
// out-of-range integers, nesting deeper than kMaxValueDepth and keys that collide raise
// ValueError.
//
// Value -> Python: array -> list (tuple when used as a map key, so it is hashable), map -> dict,
// bin -> bytes; ext raises ValueError.
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <vector>

#include "convergent/value.h"

namespace convergent::bindings {

// Containers nested deeper than this are rejected (the codec's limit for msgpack values).
inline constexpr int kMaxValueDepth = 64;

// Packs a Python object as a canonical Value. Throws pybind11 errors (TypeError, ValueError).
Value ToValue(pybind11::handle obj);

// Unpacks a Value (canonical msgpack) into a new Python object.
pybind11::object FromValue(const Value& v);
pybind11::list FromValues(const std::vector<Value>& values);

// A bytes-like argument (bytes, bytearray, memoryview, any buffer) as a read-only view. bytes
// are used in place (immutable, so the view stays valid with the GIL released); anything else is
// copied. Other types raise TypeError.
class BytesArg {
 public:
  BytesArg(pybind11::handle obj, const char* what);
  std::string_view view() const { return view_; }

 private:
  pybind11::object keep_;
  std::string copy_;
  std::string_view view_;
};

// Adds the module-level helpers pack_value, unpack_value and canonical_msgpack to `m`.
void RegisterValueFunctions(pybind11::module_& m);

}  // namespace convergent::bindings
