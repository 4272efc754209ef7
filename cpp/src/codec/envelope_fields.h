// The top level of the Crdt envelope (proto/convergent/v1/crdt.proto) read with the wire reader
// (wire_format.h), as protobuf's parser reads it: the state is a oneof whose field numbers are the
// CrdtType values (and kORSetDotField, an ORSet in its one-dot form), and the last state field
// wins; other fields, and a state field of another wire type, are unknown fields and skipped.
// PeekType and the ORSet decoder share it, so they always agree on what state an envelope holds.
//
// Thread safety: plain functions.
#pragma once

#include <climits>
#include <cstdint>
#include <string_view>

#include "codec/wire_format.h"
#include "convergent/crdt/crdt_type.h"
#include "convergent/status.h"

namespace convergent::internal {

constexpr uint32_t kFirstStateField = static_cast<uint32_t>(CrdtType::kGCounter);
// The ORSet's one-dot form (Crdt.or_set_dot): bytes, not a message.
constexpr uint32_t kORSetDotField = 12;
constexpr uint32_t kLastStateField = kORSetDotField;

// Reads every top-level field of an envelope. For each state field, calls
// read_state(field, wire::WireReader* state), a reader over the state message one level deep
// (over the bytes of kORSetDotField);
// it returns false when the state is malformed. Returns the number of the last state field read,
// 0 when there is none, or Corruption when the envelope (or a state read_state read) is malformed.
template <typename ReadState>
Result<uint32_t> ReadEnvelope(std::string_view bytes, ReadState&& read_state) {
  if (bytes.size() > INT_MAX) return Status::Corruption("state: larger than 2 GiB");
  wire::WireReader in(bytes);
  uint32_t last = 0;
  while (!in.AtEnd()) {
    const uint32_t tag = in.Tag();
    if (tag == 0) return Status::Corruption("state: malformed protobuf (bad tag)");
    const uint32_t field = wire::WireFormatLite::GetTagFieldNumber(tag);
    if (wire::WireFormatLite::GetTagWireType(tag) != wire::kLengthDelimited ||
        field < kFirstStateField || field > kLastStateField) {
      if (!in.SkipField(tag)) return Status::Corruption("state: malformed protobuf (bad field)");
      continue;
    }
    wire::WireReader state("");
    if (!in.SubMessage(&state) || !read_state(field, &state)) {
      return Status::Corruption("state: malformed protobuf (bad state field)");
    }
    last = field;
  }
  return last;
}

// The type of the state a ReadEnvelope result names; Corruption when it names none.
inline Result<CrdtType> StateTypeOf(const Result<uint32_t>& field) {
  if (!field.ok()) return field.status();
  if (field.value() == 0) return Status::Corruption("state: no CRDT state in the message");
  if (field.value() == kORSetDotField) return CrdtType::kORSet;
  return static_cast<CrdtType>(field.value());
}

}  // namespace convergent::internal
