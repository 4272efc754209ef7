// The public constructors of user values (convergent/codec.h): from untrusted msgpack bytes
// (validated and canonicalised by canonical_msgpack) and from C++ scalars (packed canonically).
#include <cassert>
#include <cstdint>
#include <limits>
#include <msgpack/pack.hpp>
#include <string>
#include <utility>

#include "codec/canonical_msgpack.h"
#include "convergent/codec.h"

namespace convergent {

Result<Value> ValueFromMsgpack(std::string_view bytes) {
  std::string canonical;
  canonical.reserve(bytes.size());
  Status s = internal::AppendCanonicalMsgpack(bytes, &canonical);
  if (!s.ok()) return s;
  return Value::FromCanonical(std::move(canonical));
}

Value NilValue() { return Value(); }

Value BoolValue(bool b) { return Value::FromCanonical(b ? "\xc3" : "\xc2"); }

Value IntValue(int64_t i) {
  std::string out;
  internal::StringSink sink(&out);
  msgpack::packer<internal::StringSink>(sink).pack_int64(i);  // smallest form, >= 0 unsigned
  return Value::FromCanonical(std::move(out));
}

Value StringValue(std::string_view utf8) {
  assert(utf8.size() <= std::numeric_limits<uint32_t>::max() && "msgpack str is at most 4 GiB");
  assert(internal::IsValidUtf8(utf8) && "StringValue needs valid UTF-8");
  const auto n = static_cast<uint32_t>(utf8.size());
  std::string out;
  out.reserve(n + 5);
  internal::StringSink sink(&out);
  msgpack::packer<internal::StringSink> packer(sink);
  packer.pack_str(n);
  if (n != 0) packer.pack_str_body(utf8.data(), n);
  return Value::FromCanonical(std::move(out));
}

Value BytesValue(std::string_view bytes) {
  assert(bytes.size() <= std::numeric_limits<uint32_t>::max() && "msgpack bin is at most 4 GiB");
  const auto n = static_cast<uint32_t>(bytes.size());
  std::string out;
  out.reserve(n + 5);
  internal::StringSink sink(&out);
  msgpack::packer<internal::StringSink> packer(sink);
  packer.pack_bin(n);
  if (n != 0) packer.pack_bin_body(bytes.data(), n);
  return Value::FromCanonical(std::move(out));
}

}  // namespace convergent
