// The ORSet encoding (a Crdt envelope holding an ORSetState, proto/convergent/v1/crdt.proto)
// written and read without protobuf message objects: ORSet deltas are the hottest thing a node
// encodes and decodes (one per add), and building messages cost more than the rest of the path.
// ORSetWire holds the message's fields as plain arrays; WriteORSetEnvelope gives the bytes of its
// deterministic protobuf serialization. ParseORSetEnvelope reads any bytes protobuf would parse
// into the same fields (ORSetFields: the store's are read in place; a differential fuzzer,
// tests_cpp/fuzz/orset_state_fuzzer.cc, holds it to that). What the fields mean and how they are
// checked is the causal state codec's business (context_codec.h, dot_store_codec.h).
//
// Thread safety: plain values and functions.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "codec/context_codec.h"
#include "codec/dot_store_codec.h"
#include "codec/wire_format.h"
#include "convergent/ids.h"
#include "convergent/status.h"

namespace convergent::internal {

// The fields of an ORSetState as arrays, as the writer takes them.
struct ORSetWire {
  boost::container::small_vector<uint64_t, 2> replicas;
  ContextParts context;
  SetStoreParts store;  // elements, dot_count, dot_replica, dot_counter

  friend bool operator==(const ORSetWire&, const ORSetWire&) = default;
};

std::string WriteORSetEnvelope(const ORSetWire& w);
// The same bytes, written straight from a sorted store (an encoder's: no arrays of its values).
std::string WriteORSetEnvelope(std::span<const uint64_t> replicas, const ContextParts& context,
                               const SortedSetStore& store, const ReplicaTableBuilder& table);
// The same bytes, given to `sink` in order a chunk of at most 64 KiB at a time (an element
// longer than that on its own), never held whole (a large key's digest).
void WriteORSetEnvelopeTo(std::span<const uint64_t> replicas, const ContextParts& context,
                          const SortedSetStore& store, const ReplicaTableBuilder& table,
                          const std::function<void(std::string_view)>& sink);

// The set store's fields of a parsed ORSetState. A small store (a delta) is kept in arrays as it
// is parsed, read once; a large one (a key's full state of millions of elements) is read where
// it lies in the parsed bytes, without a copy of its elements or dots: for each field, each part
// of the state (several merge, as in protobuf) from the field's first occurrence in it, and how
// many values the field has in all. A source of ReadSetStore (dot_store_codec.h), through the
// cursors below; `held` tells whether the arrays hold every value, to read them instead.
struct SetStoreFields {
  // The most values a field may have for the store to be kept in arrays.
  static constexpr size_t kMostHeld = 64;
  // Where a field first occurs: in parts[part], from `at` on (empty: nowhere).
  struct Start {
    size_t part = 0;
    std::string_view at;
  };
  boost::container::small_vector<std::string_view, 1> parts;  // the ORSetState's parts
  Start elements, dot_count, dot_replica, dot_counter;
  size_t element_count = 0, dot_count_size = 0, dot_replica_size = 0, dot_counter_size = 0;
  bool held = true;
  SetStoreParts values;  // every value while held; empty otherwise

  // The values read through the cursors, in arrays (the element views point into the parsed
  // bytes).
  SetStoreParts Collect() const;

  size_t ElementCount() const { return element_count; }
  size_t DotCountSize() const { return dot_count_size; }
  size_t DotReplicaSize() const { return dot_replica_size; }
  size_t DotCounterSize() const { return dot_counter_size; }
  // Cursors over the values: Next(T*) gives them in order.
  class ElementCursor {
   public:
    ElementCursor(const SetStoreFields& f) : c_(f.Cursor(f.elements, 3)) {}
    bool Next(std::string_view* out) { return c_.NextBytes(out); }

   private:
    wire::RepeatedFieldCursor c_;
  };
  template <typename T, uint32_t kField>
  class VarintCursor {
   public:
    VarintCursor(const SetStoreFields& f, const Start& start) : c_(f.Cursor(start, kField)) {}
    bool Next(T* out) { return c_.NextVarint(out); }

   private:
    wire::RepeatedFieldCursor c_;
  };
  ElementCursor Elements() const { return ElementCursor(*this); }
  VarintCursor<uint32_t, 4> DotCounts() const { return {*this, dot_count}; }
  VarintCursor<uint32_t, 5> DotReplicas() const { return {*this, dot_replica}; }
  VarintCursor<uint64_t, 6> DotCounters() const { return {*this, dot_counter}; }

 private:
  wire::RepeatedFieldCursor Cursor(const Start& s, uint32_t field) const {
    return wire::RepeatedFieldCursor({parts.data(), s.at.empty() ? 0 : parts.size()}, s.part, s.at,
                                     field);
  }
};

// The fields of a parsed ORSetState: the replicas and the context in arrays, the store where it
// lies; or the bytes of the one-dot form.
struct ORSetFields {
  boost::container::small_vector<uint64_t, 2> replicas;
  ContextParts context;
  SetStoreFields store;
  // Set when the envelope holds the ORSet in its one-dot form (Crdt.or_set_dot): its bytes. The
  // fields above are then empty.
  std::optional<std::string_view> dot_form;
};

// Parses a Crdt envelope (envelope_fields.h) and the ORSetState in it. Returns the field number of
// the envelope's state (0: none; the ORSet's for either form), or Corruption when protobuf would
// not parse the bytes; *out holds the ORSet's fields when that number is the ORSet's (its
// store's views point into `bytes`); it must be newly constructed. The content of another state
// is not checked.
Result<uint32_t> ParseORSetEnvelope(std::string_view bytes, ORSetFields* out);

// ---- The one-dot form (Crdt.or_set_dot, proto/convergent/v1/crdt.proto) ----
// An ORSet holding one element under one dot, whose context is that dot alone (an element's first
// add), written as the dot's replica (8 bytes, little-endian), its counter minus 1 (varint) and
// the element's canonical msgpack, in a bytes field of the envelope.
struct ORSetDot {
  Dot dot;
  std::string_view element;  // canonical msgpack
};
// The envelope's bytes.
std::string WriteORSetDotEnvelope(const ORSetDot& d);
// Reads the form's bytes (the field's payload); Corruption names what is wrong. The element is a
// view into `bytes`, not checked here.
Result<ORSetDot> ReadORSetDot(std::string_view bytes);

}  // namespace convergent::internal
