// Protobuf wire format without message objects, internal to the codec, for the hot encodings
// (ORSet states and deltas): WireWriter writes fields straight into a buffer sized beforehand
// (WireSize computes the sizes), and the Read* functions read fields into plain vectors. Both use
// protobuf's own coded streams and follow its rules: writing gives the bytes of a deterministic
// serialization (fields by number, repeated scalars packed, empty fields left out); reading
// accepts what protobuf's parser accepts (packed or unpacked repeated scalars, fields repeated
// or in any order, unknown fields skipped).
//
// Thread safety: plain functions and values, one per encode or decode call.
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace convergent::internal::wire {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

constexpr uint32_t kVarint = WireFormatLite::WIRETYPE_VARINT;
constexpr uint32_t kFixed64 = WireFormatLite::WIRETYPE_FIXED64;
constexpr uint32_t kLengthDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return (field << 3) | wire_type; }

// ---- Sizes ----

inline size_t VarintSize(uint64_t v) { return CodedOutputStream::VarintSize64(v); }

// The payload of a packed repeated varint field.
template <typename T>
size_t PackedVarintPayload(std::span<const T> values) {
  size_t n = 0;
  for (T v : values) n += VarintSize(v);
  return n;
}
// A length-delimited field (tag, length, payload) around a payload of `payload` bytes.
inline size_t LengthDelimitedSize(uint32_t field, size_t payload) {
  return VarintSize(Tag(field, kLengthDelimited)) + VarintSize(payload) + payload;
}
// A packed repeated field, left out when it is empty.
inline size_t PackedSize(uint32_t field, size_t payload) {
  return payload == 0 ? 0 : LengthDelimitedSize(field, payload);
}

// ---- Writing ----

// Writes fields into a buffer the caller sized with the functions above.
class WireWriter {
 public:
  explicit WireWriter(uint8_t* at) : at_(at) {}
  uint8_t* position() const { return at_; }

  void Varint(uint64_t v) { at_ = CodedOutputStream::WriteVarint64ToArray(v, at_); }
  void LengthDelimitedHeader(uint32_t field, size_t payload) {
    Varint(Tag(field, kLengthDelimited));
    Varint(payload);
  }
  void Bytes(uint32_t field, std::string_view b) {
    LengthDelimitedHeader(field, b.size());
    std::memcpy(at_, b.data(), b.size());
    at_ += b.size();
  }
  // A packed repeated varint field of `payload` bytes (PackedVarintPayload); nothing when empty.
  template <typename T>
  void PackedVarints(uint32_t field, std::span<const T> values, size_t payload) {
    if (values.empty()) return;
    LengthDelimitedHeader(field, payload);
    for (T v : values) Varint(v);
  }
  void PackedFixed64(uint32_t field, std::span<const uint64_t> values) {
    if (values.empty()) return;
    LengthDelimitedHeader(field, values.size() * 8);
    for (uint64_t v : values) at_ = CodedOutputStream::WriteLittleEndian64ToArray(v, at_);
  }

 private:
  uint8_t* at_;
};

// ---- Reading ----

// Protobuf's parser reads tags and lengths in at most 5 bytes; CodedInputStream allows 10, so
// these two read them as the parser does. A varint of at most 5 bytes from the buffer (within
// the current limit); false when it is longer or cut short.
inline bool ReadShortVarint(CodedInputStream* in, uint64_t* out, uint8_t* last_byte) {
  const void* data = nullptr;
  int size = 0;
  if (!in->GetDirectBufferPointer(&data, &size)) return false;
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t v = 0;
  for (int i = 0; i < 5 && i < size; ++i) {
    v |= uint64_t{p[i] & 0x7fu} << (7 * i);
    if (p[i] < 0x80) {
      *out = v;
      *last_byte = p[i];
      in->Skip(i + 1);
      return true;
    }
  }
  return false;
}
// A field's tag; 0 (never a valid tag) when malformed. Bits beyond 32 are dropped, as protobuf
// does.
inline uint32_t ReadTag(CodedInputStream* in) {
  uint64_t v = 0;
  uint8_t last = 0;
  return ReadShortVarint(in, &v, &last) ? static_cast<uint32_t>(v) : 0;
}
// The length of a length-delimited field: below 2 GiB, with protobuf's margin of 16 bytes.
inline bool ReadLength(CodedInputStream* in, int* out) {
  uint64_t v = 0;
  uint8_t last = 0;
  if (!ReadShortVarint(in, &v, &last) || v > INT_MAX - 16) return false;
  *out = static_cast<int>(v);
  return true;
}

// Reads one occurrence of a repeated varint field (T: uint32_t or uint64_t; a wider varint is
// truncated, as protobuf does): a single value for wire type varint, a packed run for
// length-delimited. False on malformed input; a field of another wire type is not handled here.
template <typename T, typename Vec>
bool ReadRepeatedVarint(CodedInputStream* in, uint32_t wire_type, Vec* out) {
  uint64_t v = 0;
  if (wire_type == kVarint) {
    if (!in->ReadVarint64(&v)) return false;
    out->push_back(static_cast<T>(v));
    return true;
  }
  int length = 0;
  if (!ReadLength(in, &length)) return false;
  const int start = in->CurrentPosition();
  const CodedInputStream::Limit limit = in->PushLimit(length);
  while (in->BytesUntilLimit() > 0) {
    if (!in->ReadVarint64(&v)) return false;
    out->push_back(static_cast<T>(v));
  }
  in->PopLimit(limit);
  // A run longer than its enclosing message stops at the message's end: malformed.
  return in->CurrentPosition() - start == length;
}

// The same for a repeated fixed64 field (unpacked: wire type fixed64).
template <typename Vec>
bool ReadRepeatedFixed64(CodedInputStream* in, uint32_t wire_type, Vec* out) {
  uint64_t v = 0;
  if (wire_type == kFixed64) {
    if (!in->ReadLittleEndian64(&v)) return false;
    out->push_back(v);
    return true;
  }
  int length = 0;
  if (!ReadLength(in, &length) || length % 8 != 0) return false;
  for (int i = 0; i < length / 8; ++i) {
    if (!in->ReadLittleEndian64(&v)) return false;
    out->push_back(v);
  }
  return true;
}

// A bytes field's payload, as a view into the buffer `in` reads (from `data`).
inline bool ReadBytesView(CodedInputStream* in, const char* data, std::string_view* out) {
  int length = 0;
  if (!ReadLength(in, &length)) return false;
  const int at = in->CurrentPosition();
  if (!in->Skip(length)) return false;
  *out = std::string_view(data + at, static_cast<size_t>(length));
  return true;
}

}  // namespace convergent::internal::wire
