// Value: a user value as canonical msgpack bytes. Element identity in sets and map keys is these
// bytes, so two values are the same element exactly when their canonical encodings are equal
// (1 and 1.0 differ; dict key order does not matter). Order is the byte order of the encodings.
//
// A Value is created from untrusted bytes only through the codec (convergent/codec.h), which
// validates and canonicalises; FromCanonical trusts its caller.
//
// Representation: 24 bytes. Encodings of up to 23 bytes (numbers, short strings: most set
// elements and map keys) are stored inline, so copying or moving one copies 24 bytes and
// allocates nothing; longer ones live on the heap, owned by the Value. A moved-from Value is nil.
//
// Thread safety: plain value.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>

namespace convergent {

class Value {
 public:
  Value() { SetNil(); }
  static Value FromCanonical(std::string_view bytes) { return Value(bytes); }

  Value(const Value& o) {
    if (o.is_inline()) {
      std::memcpy(static_cast<void*>(this), &o, sizeof(Value));
    } else {
      CopyToHeap(o.bytes());
    }
  }
  Value(Value&& o) noexcept {
    std::memcpy(static_cast<void*>(this), &o, sizeof(Value));  // a heap buffer changes owner
    o.SetNil();
  }
  Value& operator=(const Value& o) {
    if (this != &o) *this = Value(o);
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      Release();
      std::memcpy(static_cast<void*>(this), &o, sizeof(Value));
      o.SetNil();
    }
    return *this;
  }
  ~Value() { Release(); }

  std::string_view bytes() const {
    if (is_inline()) return std::string_view(raw_, tag());
    HeapPart h;
    std::memcpy(&h, raw_, sizeof h);
    return std::string_view(h.data, h.size);
  }

  friend bool operator==(const Value& a, const Value& b) { return a.bytes() == b.bytes(); }
  friend std::strong_ordering operator<=>(const Value& a, const Value& b) {
    return a.bytes().compare(b.bytes()) <=> 0;
  }
  // For absl::Hash (the hash maps of the CRDT stores); std::hash is below.
  template <typename H>
  friend H AbslHashValue(H h, const Value& v) {
    const std::string_view b = v.bytes();  // as absl hashes strings (not through std::hash)
    return H::combine(H::combine_contiguous(std::move(h), b.data(), b.size()), b.size());
  }

 private:
  // raw_[23] is the tag: the size of inline bytes (raw_[0..22]), or kHeap, with a HeapPart at
  // the start of raw_.
  static constexpr size_t kInline = 23;
  static constexpr uint8_t kHeap = 0xff;
  struct HeapPart {
    char* data;
    size_t size;
  };

  explicit Value(std::string_view bytes) {
    if (bytes.size() <= kInline) {
      std::memcpy(raw_, bytes.data(), bytes.size());
      set_tag(static_cast<uint8_t>(bytes.size()));
    } else {
      CopyToHeap(bytes);
    }
  }
  uint8_t tag() const { return static_cast<uint8_t>(raw_[kInline]); }
  void set_tag(uint8_t t) { raw_[kInline] = static_cast<char>(t); }
  bool is_inline() const { return tag() != kHeap; }
  void SetNil() {
    raw_[0] = '\xc0';
    set_tag(1);
  }
  void CopyToHeap(std::string_view bytes);  // sets the heap representation (value.cc)
  void Release() {
    if (is_inline()) return;
    HeapPart h;
    std::memcpy(&h, raw_, sizeof h);
    delete[] h.data;
  }

  alignas(8) char raw_[kInline + 1];
};
static_assert(sizeof(Value) == 24);

}  // namespace convergent

template <>
struct std::hash<convergent::Value> {
  size_t operator()(const convergent::Value& v) const noexcept {
    return std::hash<std::string_view>()(v.bytes());
  }
};
