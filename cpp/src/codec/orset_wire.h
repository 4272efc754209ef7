// The ORSet encoding (a Crdt envelope holding an ORSetState, proto/convergent/v1/crdt.proto)
// written and read without protobuf message objects: ORSet deltas are the hottest thing a node
// encodes and decodes (one per add), and building messages cost more than the rest of the path.
// ORSetWire holds the message's fields as plain arrays; WriteORSetEnvelope gives the bytes of its
// deterministic protobuf serialization, ParseORSetEnvelope reads any bytes protobuf would parse
// into the same fields (a differential fuzzer, tests_cpp/fuzz/orset_state_fuzzer.cc, holds it to
// that). What the fields mean and how they are checked is the causal state codec's business
// (context_codec.h, dot_store_codec.h).
//
// Thread safety: plain values and functions.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/context_codec.h"
#include "codec/dot_store_codec.h"
#include "convergent/status.h"

namespace convergent::internal {

// The fields of an ORSetState. Decoded elements are views into the parsed bytes.
struct ORSetWire {
  boost::container::small_vector<uint64_t, 2> replicas;
  ContextParts context;
  SetStoreParts store;  // elements, dot_count, dot_replica, dot_counter

  void clear() {
    replicas.clear();
    context.clear();
    store.clear();
  }
  friend bool operator==(const ORSetWire&, const ORSetWire&) = default;
};

std::string WriteORSetEnvelope(const ORSetWire& w);

// Parses a Crdt envelope (envelope_fields.h) and the ORSetState in it. Returns the field number of
// the envelope's state (0: none), or Corruption when protobuf would not parse the bytes; *out
// holds the ORSetState's fields when that number is the ORSet's. The content of another state is
// not checked.
Result<uint32_t> ParseORSetEnvelope(std::string_view bytes, ORSetWire* out);

}  // namespace convergent::internal
