// The differential check of the ORSet wire reader and writer (codec/orset_wire.h) against
// protobuf: on bytes whose envelope names an ORSet, the reader must accept exactly what
// protobuf's parser accepts and read the same fields (or the same bytes of the one-dot form), and
// the writer must give back protobuf's deterministic serialization of them. Used by
// orset_state_fuzzer.cc and orset_wire_test.cc.
//
// Thread safety: reentrant.
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "codec/orset_wire.h"
#include "convergent/codec.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::fuzz {
namespace wire_check {

template <typename A, typename B>
bool Same(const A& a, const B& b) {
  return static_cast<size_t>(a.size()) == static_cast<size_t>(b.size()) &&
         std::equal(a.begin(), a.end(), b.begin());
}

inline bool SameFields(const internal::ORSetWire& w, const v1::ORSetState& m) {
  // (w: the fields read, the store's collected from where they lie)
  const v1::CausalContext& c = m.context();
  return Same(w.replicas, m.replicas()) && Same(w.context.vv_replica, c.vv_replica()) &&
         Same(w.context.vv_counter, c.vv_counter()) &&
         Same(w.context.cloud_replica, c.cloud_replica()) &&
         Same(w.context.cloud_counter, c.cloud_counter()) && Same(w.store.elements, m.elements()) &&
         Same(w.store.dot_count, m.dot_count()) && Same(w.store.dot_replica, m.dot_replica()) &&
         Same(w.store.dot_counter, m.dot_counter());
}

}  // namespace wire_check

// Empty when the wire reader and writer agree with protobuf on these bytes: the reader finds an
// ORSet state in exactly the envelopes protobuf parses with one, reads the same fields, and names
// the same state as PeekType; else what differs.
inline std::string WireDisagreement(std::string_view bytes) {
  v1::Crdt msg;
  const bool parsed =
      msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
      (msg.state_case() == v1::Crdt::kOrSet || msg.state_case() == v1::Crdt::kOrSetDot);
  internal::ORSetFields fields;
  Result<uint32_t> state = internal::ParseORSetEnvelope(bytes, &fields);
  Result<CrdtType> type = PeekType(bytes);
  if (state.ok() &&
      (state.value() == 0 ? type.ok()
                          : !type.ok() || static_cast<uint32_t>(type.value()) != state.value())) {
    return "the wire reader and PeekType disagree on the envelope's state";
  }
  const bool read = state.ok() && state.value() == static_cast<uint32_t>(CrdtType::kORSet);
  if (read != parsed) {
    return parsed ? "the wire reader rejects what protobuf parses"
                  : "the wire reader accepts what protobuf rejects";
  }
  if (!read) return "";
  if (msg.state_case() == v1::Crdt::kOrSetDot) {
    // The one-dot form: the same bytes, and nothing of the other form's fields.
    if (!fields.dot_form || *fields.dot_form != msg.or_set_dot()) {
      return "the wire reader reads another one-dot form than protobuf";
    }
    if (!fields.replicas.empty() || fields.store.element_count != 0 ||
        !fields.store.parts.empty()) {
      return "the wire reader reads set fields beside the one-dot form";
    }
    // The writer gives protobuf's serialization of the form it read (shorter where the counter's
    // varint was overlong).
    Result<internal::ORSetDot> one = internal::ReadORSetDot(*fields.dot_form);
    if (!one.ok()) return "";
    v1::Crdt only_form;
    only_form.set_or_set_dot(msg.or_set_dot());
    const std::string expected = only_form.SerializeAsString();
    const std::string written = internal::WriteORSetDotEnvelope(one.value());
    if (written.size() == expected.size() ? written != expected
                                          : written.size() > expected.size()) {
      return "the one-dot writer does not write protobuf's serialization of what it read";
    }
    return "";
  }
  if (fields.dot_form) return "the wire reader reads a one-dot form protobuf does not";
  const internal::ORSetWire w{fields.replicas, fields.context, fields.store.Collect()};
  if (fields.store.element_count != w.store.elements.size() ||
      fields.store.dot_count_size != w.store.dot_count.size() ||
      fields.store.dot_replica_size != w.store.dot_replica.size() ||
      fields.store.dot_counter_size != w.store.dot_counter.size()) {
    return "the wire reader's counts of the store's fields are not their sizes";
  }
  if (fields.store.held !=
      (std::max({w.store.elements.size(), w.store.dot_count.size(), w.store.dot_replica.size(),
                 w.store.dot_counter.size()}) <= internal::SetStoreFields::kMostHeld)) {
    return "the wire reader holds a store in arrays past the limit, or not one within it";
  }
  if (fields.store.held && !(fields.store.values == w.store)) {
    return "the wire reader's arrays of a small store are not the values read in place";
  }
  if (!wire_check::SameFields(w, msg.or_set()))
    return "the wire reader reads other fields than protobuf";
  // What the writer writes: the ORSetState without unknown fields, and without its context
  // when that holds nothing (the writer does not track the presence of an empty one).
  v1::Crdt only_fields;
  *only_fields.mutable_or_set() = msg.or_set();
  only_fields.DiscardUnknownFields();
  if (only_fields.or_set().context().ByteSizeLong() == 0) {
    only_fields.mutable_or_set()->clear_context();
  }
  std::string expected;
  {
    google::protobuf::io::StringOutputStream out(&expected);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    only_fields.SerializeToCodedStream(&coded);
  }
  if (internal::WriteORSetEnvelope(w) != expected) {
    return "the wire writer does not write protobuf's deterministic serialization";
  }
  return "";
}

}  // namespace convergent::fuzz
