// Dots and version vectors <-> their protobuf form: delete dots and delete vectors
// (replica/tombstone_collector.h) in frames and snapshot records, and a key's causal context in a
// repair. Decoding takes untrusted input and checks the forms the collector relies on: dots
// strictly ascending, vectors sorted by replica with no replica twice, every counter above 0
// (and a context in its compact form, CausalContext::FromParts).
//
// Thread safety: reentrant.
#pragma once

#include <google/protobuf/repeated_field.h>

#include "convergent/crdt/causal_context.h"
#include "convergent/status.h"
#include "convergent/v1/replication.pb.h"
#include "replica/messages.h"

namespace convergent::internal {

using Fixed64s = google::protobuf::RepeatedField<uint64_t>;

void PutDots(const DeleteDots& dots, Fixed64s* replicas, Fixed64s* counters);
Result<DeleteDots> GetDots(const Fixed64s& replicas, const Fixed64s& counters);

void PutVector(const CausalContext::VersionVector& vv, v1::VersionVector* out);
Result<CausalContext::VersionVector> GetVector(const v1::VersionVector& in);

void PutContext(const CausalContext& ctx, v1::KeyContext* out);
Result<CausalContext> GetContext(const v1::KeyContext& in);

}  // namespace convergent::internal
