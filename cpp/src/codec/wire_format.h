// Protobuf wire format without message objects, internal to the codec, for the hot encodings
// (ORSet states and deltas): WireWriter writes fields straight into a buffer sized beforehand
// (the *Size functions compute the sizes), WireReader reads fields into plain vectors, and
// RepeatedFieldCursor reads one repeated field where it lies (a large state's). All
// follow protobuf's rules: writing gives the bytes of a deterministic serialization (fields by
// number, repeated scalars packed, empty fields left out); reading accepts what protobuf's
// parser accepts (packed or unpacked repeated scalars, fields repeated or in any order, unknown
// fields skipped), which a differential fuzzer checks (tests_cpp/fuzz/orset_wire_check.h).
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
using google::protobuf::io::CodedOutputStream;

constexpr uint32_t kVarint = WireFormatLite::WIRETYPE_VARINT;
constexpr uint32_t kFixed64 = WireFormatLite::WIRETYPE_FIXED64;
constexpr uint32_t kLengthDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return (field << 3) | wire_type; }
constexpr size_t kMaxVarintBytes = 10;

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

// Reads the fields of one message from a buffer, following protobuf's parser (3.21): tags and
// lengths in at most 5 bytes (a tag's bits beyond 32 dropped; a length below 2 GiB with a
// margin of 16), other varints in at most 10 (bits beyond 64 dropped), groups and sub-messages
// nested at most 100 deep. A sub-message is read by a reader over its bytes, so a length that
// runs past its enclosing message is malformed here as there.
class WireReader {
 public:
  WireReader(std::string_view bytes, int depth_budget = 100)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(p_ + bytes.size()),
        depth_(depth_budget) {}

  bool AtEnd() const { return p_ == end_; }
  // What is left to read.
  std::string_view rest() const {
    return std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(end_ - p_));
  }

  // The next tag; 0 (never a valid tag) when malformed.
  uint32_t Tag() {
    uint64_t v = 0;
    return ShortVarint(&v) ? static_cast<uint32_t>(v) : 0;
  }
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int i = 0; i < 10 && p_ + i < end_; ++i) {
      v |= uint64_t{p_[i] & 0x7fu} << (7 * i);  // the 10th byte's bits beyond 64 drop out
      if (p_[i] < 0x80) {
        p_ += i + 1;
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool Fixed64(uint64_t* out) {
    if (end_ - p_ < 8) return false;
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p_[i];
    p_ += 8;
    *out = v;
    return true;
  }
  // A length-delimited payload, as a view.
  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!ShortVarint(&n) || n > INT_MAX - 16 || n > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // A reader over a length-delimited sub-message, one level deeper.
  bool SubMessage(WireReader* out) {
    std::string_view b;
    if (depth_ <= 0 || !Bytes(&b)) return false;
    *out = WireReader(b, depth_ - 1);
    return true;
  }
  // Skips the value of a field nobody reads (protobuf keeps it among the unknown fields).
  // Field number 0, an end-group tag without its group, and wire types 6 and 7 are malformed.
  bool SkipField(uint32_t tag) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 0) return false;
    uint64_t v = 0;
    std::string_view b;
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT:
        return Varint(&v);
      case WireFormatLite::WIRETYPE_FIXED64:
        return Fixed64(&v);
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
        return Bytes(&b);
      case WireFormatLite::WIRETYPE_FIXED32:
        if (end_ - p_ < 4) return false;
        p_ += 4;
        return true;
      case WireFormatLite::WIRETYPE_START_GROUP:
        return SkipGroup(tag);
      default:
        return false;
    }
  }

 private:
  // A varint of at most 5 bytes.
  bool ShortVarint(uint64_t* out) {
    uint64_t v = 0;
    for (int i = 0; i < 5 && p_ + i < end_; ++i) {
      v |= uint64_t{p_[i] & 0x7fu} << (7 * i);
      if (p_[i] < 0x80) {
        p_ += i + 1;
        *out = v;
        return true;
      }
    }
    return false;
  }
  // The fields of a group up to its end-group tag, which must name the same field.
  bool SkipGroup(uint32_t start) {
    if (--depth_ < 0) return false;
    for (;;) {
      const uint32_t tag = Tag();
      if (tag == 0) return false;
      if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_END_GROUP) {
        if (WireFormatLite::GetTagFieldNumber(tag) != WireFormatLite::GetTagFieldNumber(start)) {
          return false;
        }
        ++depth_;
        return true;
      }
      if (!SkipField(tag)) return false;
    }
  }

  const uint8_t* p_;
  const uint8_t* end_;
  int depth_;  // how many more sub-messages and groups may nest
};

// Reads one occurrence of a repeated varint field (T: uint32_t or uint64_t; a wider varint is
// truncated, as protobuf does): a single value for wire type varint, a packed run for
// length-delimited. False on malformed input; a field of another wire type is not handled here.
template <typename T, typename Vec>
bool ReadRepeatedVarint(WireReader* in, uint32_t wire_type, Vec* out) {
  uint64_t v = 0;
  if (wire_type == kVarint) {
    if (!in->Varint(&v)) return false;
    out->push_back(static_cast<T>(v));
    return true;
  }
  std::string_view run;
  if (!in->Bytes(&run)) return false;
  WireReader values(run);
  while (!values.AtEnd()) {
    if (!values.Varint(&v)) return false;
    out->push_back(static_cast<T>(v));
  }
  return true;
}

// Reads the values of one repeated field front to back where they lie, across its occurrences
// (packed runs or one value per field, as protobuf accepts them) and across the parts of a
// message given in several pieces (protobuf merges them: the repeated fields concatenate).
// Fields of other numbers, and the field with a wire type protobuf would not read into it, are
// skipped. Reading starts at `first` (the field's first occurrence, in parts[first_part]) and
// goes on through the later parts; they must have been read through once before (malformed
// bytes end the values early).
class RepeatedFieldCursor {
 public:
  RepeatedFieldCursor(std::span<const std::string_view> parts, size_t first_part,
                      std::string_view first, uint32_t field)
      : parts_(parts), field_(field), part_(first_part), in_(first) {}

  // The next value of a repeated varint field (T: uint32_t or uint64_t; wider varints are
  // truncated, as protobuf does).
  template <typename T>
  bool NextVarint(T* out) {
    uint64_t v = 0;
    while (run_.AtEnd()) {
      const uint32_t type = NextOccurrence(kVarint, kLengthDelimited);
      if (type == kNone) return false;
      if (type == kVarint) {
        if (!in_.Varint(&v)) return false;
        *out = static_cast<T>(v);
        return true;
      }
      std::string_view run;
      if (!in_.Bytes(&run)) return false;
      run_ = WireReader(run);
    }
    if (!run_.Varint(&v)) return false;
    *out = static_cast<T>(v);
    return true;
  }
  // The next value of a repeated bytes field.
  bool NextBytes(std::string_view* out) {
    return NextOccurrence(kLengthDelimited, kLengthDelimited) != kNone && in_.Bytes(out);
  }

 private:
  static constexpr uint32_t kNone = 8;  // no wire type
  // Moves to the value of the next occurrence of the field with one of the two wire types, and
  // gives its wire type; kNone after the last.
  uint32_t NextOccurrence(uint32_t type_a, uint32_t type_b) {
    for (;;) {
      while (!in_.AtEnd()) {
        const uint32_t tag = in_.Tag();
        if (tag == 0) return kNone;
        const uint32_t type = WireFormatLite::GetTagWireType(tag);
        if (static_cast<uint32_t>(WireFormatLite::GetTagFieldNumber(tag)) == field_ &&
            (type == type_a || type == type_b)) {
          return type;
        }
        if (!in_.SkipField(tag)) return kNone;
      }
      if (++part_ >= parts_.size()) return kNone;
      in_ = WireReader(parts_[part_]);
    }
  }

  std::span<const std::string_view> parts_;
  uint32_t field_;
  size_t part_ = 0;
  WireReader in_;       // the fields of the current part
  WireReader run_{""};  // the rest of the packed run being read
};

// The same for a repeated fixed64 field (unpacked: wire type fixed64).
template <typename Vec>
bool ReadRepeatedFixed64(WireReader* in, uint32_t wire_type, Vec* out) {
  uint64_t v = 0;
  if (wire_type == kFixed64) {
    if (!in->Fixed64(&v)) return false;
    out->push_back(v);
    return true;
  }
  std::string_view run;
  if (!in->Bytes(&run) || run.size() % 8 != 0) return false;
  WireReader values(run);
  while (!values.AtEnd()) {
    values.Fixed64(&v);
    out->push_back(v);
  }
  return true;
}

}  // namespace convergent::internal::wire
