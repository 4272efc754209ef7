// What every state-decoder fuzzer (<type>_state_fuzzer.cc) checks on its input: decoding
// untrusted bytes never crashes; a failure is a Corruption, or a TypeMismatch exactly when
// PeekType names another type; bytes that decode re-encode to bytes that decode to an equal
// state with the same encoding (encode(decode(x)) is a fixed point), and the decoded state joins
// with itself without change (the decoder only lets through states that are lattice elements).
// A violated check aborts, which libFuzzer reports as a crash with its input.
//
// The seed corpora in corpus/<type>_state/ are encodings of states built through the mutators
// (empty, a few operations, several replicas joined, removes, so contexts have clouds).
//
// Thread safety: none needed; libFuzzer calls one input at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "convergent/codec.h"

namespace convergent::fuzz {

inline void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

template <typename T>
int CheckStateDecoder(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<T> decoded = Decode<T>(bytes);
  Result<CrdtType> type = PeekType(bytes);
  if (!decoded.ok()) {
    const StatusCode code = decoded.status().code();
    Check(code == StatusCode::kCorruption || code == StatusCode::kTypeMismatch,
          "a decode error is a Corruption or a TypeMismatch");
    Check(
        (code == StatusCode::kTypeMismatch) == (type.ok() && type.value() != CrdtTypeOf<T>::value),
        "TypeMismatch exactly when PeekType names another type");
    return 0;
  }
  Check(type.ok() && type.value() == CrdtTypeOf<T>::value, "PeekType names the decoded type");
  const std::string encoded = Encode(decoded.value());
  Result<T> again = Decode<T>(encoded);
  Check(again.ok(), "a re-encoded state decodes");
  Check(again.value() == decoded.value(), "a re-encoded state decodes to an equal state");
  Check(Encode(again.value()) == encoded, "encode(decode(x)) is a fixed point");
  T joined = decoded.value();
  joined.Join(decoded.value());
  Check(joined == decoded.value(), "a decoded state joined with itself is unchanged");
  return 0;
}

}  // namespace convergent::fuzz
