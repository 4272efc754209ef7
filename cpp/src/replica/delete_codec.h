// Delete dots and delete vectors (replica/tombstone_collector.h) <-> their protobuf form, for
// frames and snapshot records. Decoding takes untrusted input and checks the forms the collector
// relies on: dots strictly ascending, vectors sorted by replica with no replica twice, every
// counter above 0.
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

void PutVector(const CausalContext::VersionVector& vv, v1::DeleteVector* out);
Result<CausalContext::VersionVector> GetVector(const v1::DeleteVector& in);

}  // namespace convergent::internal
