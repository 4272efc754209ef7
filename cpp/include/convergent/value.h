// Value: a user value as canonical msgpack bytes. Element identity in sets and map keys is these
// bytes, so two values are the same element exactly when their canonical encodings are equal
// (1 and 1.0 differ; dict key order does not matter). Order is the byte order of the encodings.
//
// A Value is created from untrusted bytes only through the codec (convergent/codec.h), which
// validates and canonicalises; FromCanonical trusts its caller.
//
// Thread safety: plain value.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace convergent {

class Value {
 public:
  Value() : bytes_("\xc0", 1) {}  // msgpack nil
  static Value FromCanonical(std::string bytes) { return Value(std::move(bytes)); }
  const std::string& bytes() const { return bytes_; }

  friend bool operator==(const Value&, const Value&) = default;
  friend std::strong_ordering operator<=>(const Value& a, const Value& b) {
    return a.bytes_.compare(b.bytes_) <=> 0;
  }

 private:
  explicit Value(std::string&& bytes) : bytes_(std::move(bytes)) {}

  std::string bytes_;
};

}  // namespace convergent

template <>
struct std::hash<convergent::Value> {
  size_t operator()(const convergent::Value& v) const noexcept {
    return std::hash<std::string_view>()(v.bytes());
  }
};
