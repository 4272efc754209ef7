// libFuzzer target for ValueFromMsgpack: untrusted msgpack never crashes the canonicaliser; a
// failure is a Corruption; a canonical form is a fixed point (canonicalising it again gives it
// back unchanged), means the same as the input (differential check against msgpack-c's own
// object unpacker), and is accepted as an element of a set state.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <msgpack.hpp>
#include <string_view>

#include "state_fuzz_check.h"

namespace {

// Same meaning: equal scalars (float32 and float64 compared as doubles, all NaNs equal), equal
// arrays, and maps with the same entries in any order.
bool Equivalent(const msgpack::object& a, const msgpack::object& b) {
  auto is_float = [](const msgpack::object& o) {
    return o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64;
  };
  if (is_float(a) && is_float(b)) {
    return (std::isnan(a.via.f64) && std::isnan(b.via.f64)) ||
           std::memcmp(&a.via.f64, &b.via.f64, sizeof(double)) == 0;
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case msgpack::type::NIL:
      return true;
    case msgpack::type::BOOLEAN:
      return a.via.boolean == b.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return a.via.u64 == b.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return a.via.i64 == b.via.i64;
    case msgpack::type::STR:
    case msgpack::type::BIN:
      return std::string_view(a.via.str.ptr, a.via.str.size) ==
             std::string_view(b.via.str.ptr, b.via.str.size);
    case msgpack::type::EXT:
      return std::string_view(a.via.ext.ptr, a.via.ext.size + 1) ==
             std::string_view(b.via.ext.ptr, b.via.ext.size + 1);
    case msgpack::type::ARRAY:
      if (a.via.array.size != b.via.array.size) return false;
      for (uint32_t i = 0; i < a.via.array.size; ++i) {
        if (!Equivalent(a.via.array.ptr[i], b.via.array.ptr[i])) return false;
      }
      return true;
    case msgpack::type::MAP:
      if (a.via.map.size != b.via.map.size) return false;
      for (uint32_t i = 0; i < a.via.map.size; ++i) {
        bool found = false;
        for (uint32_t j = 0; j < b.via.map.size && !found; ++j) {
          found = Equivalent(a.via.map.ptr[i].key, b.via.map.ptr[j].key) &&
                  Equivalent(a.via.map.ptr[i].val, b.via.map.ptr[j].val);
        }
        if (!found) return false;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using convergent::fuzz::Check;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  convergent::Result<convergent::Value> v = convergent::ValueFromMsgpack(bytes);
  if (!v.ok()) {
    Check(v.status().code() == convergent::StatusCode::kCorruption, "an error is a Corruption");
    return 0;
  }
  const std::string_view canonical = v.value().bytes();
  convergent::Result<convergent::Value> again = convergent::ValueFromMsgpack(canonical);
  Check(again.ok() && again.value() == v.value(), "a canonical form is a fixed point");

  // The input was validated (complete, depth <= 64), so msgpack-c can unpack it safely.
  msgpack::object_handle in = msgpack::unpack(bytes.data(), bytes.size());
  msgpack::object_handle out = msgpack::unpack(canonical.data(), canonical.size());
  Check(Equivalent(in.get(), out.get()), "the canonical form means the same as the input");

  convergent::GSet set;
  set.Add(v.value());
  convergent::Result<convergent::GSet> decoded =
      convergent::Decode<convergent::GSet>(convergent::Encode(set));
  Check(decoded.ok() && decoded.value() == set, "a canonical value is a valid set element");
  return 0;
}
