// Canonical msgpack, internal to the codec: validation of untrusted msgpack bytes and their
// rewriting into the one canonical form that identifies a user value (see convergent/value.h and
// ValueFromMsgpack in convergent/codec.h for the rules). Also the msgpack::packer sink the codec
// writes values with.
//
// Thread safety: free functions are reentrant; a StringSink belongs to one thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "convergent/status.h"

namespace convergent::internal {

// The deepest nesting of arrays and maps a value may have: 64 nested containers are accepted,
// 65 are rejected (a scalar has depth 0, [[]] has depth 2).
inline constexpr int kMaxMsgpackDepth = 64;

// Appends the canonical form of `bytes`, which must hold exactly one msgpack object, to *out.
// On error returns Corruption and restores *out to its size on entry.
Status AppendCanonicalMsgpack(std::string_view bytes, std::string* out);

// True when `bytes` is exactly one msgpack object already in canonical form. `scratch` is a
// buffer reused across calls (its contents are overwritten).
bool IsCanonicalMsgpack(std::string_view bytes, std::string* scratch);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The output stream of a msgpack::packer that appends to a std::string.
class StringSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void write(const char* p, size_t n) { out_->append(p, n); }

 private:
  std::string* out_;
};

}  // namespace convergent::internal
