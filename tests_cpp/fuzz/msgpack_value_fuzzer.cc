// libFuzzer target for ValueFromMsgpack: untrusted msgpack never crashes the canonicaliser; a
// failure is a Corruption; a canonical form is a fixed point (canonicalising it again gives it
// back unchanged) and is accepted as an element of a set state.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "state_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using convergent::fuzz::Check;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  convergent::Result<convergent::Value> v = convergent::ValueFromMsgpack(bytes);
  if (!v.ok()) {
    Check(v.status().code() == convergent::StatusCode::kCorruption, "an error is a Corruption");
    return 0;
  }
  convergent::Result<convergent::Value> again = convergent::ValueFromMsgpack(v.value().bytes());
  Check(again.ok() && again.value() == v.value(), "a canonical form is a fixed point");
  convergent::GSet set;
  set.Add(v.value());
  convergent::Result<convergent::GSet> decoded =
      convergent::Decode<convergent::GSet>(convergent::Encode(set));
  Check(decoded.ok() && decoded.value() == set, "a canonical value is a valid set element");
  return 0;
}
