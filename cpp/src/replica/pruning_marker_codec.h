// Pruning markers (replica/pruning_marker.h) <-> their protobuf form, for frames and snapshot
// records. Decoding takes untrusted input and checks every invariant the markers rely on.
//
// Thread safety: reentrant.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include "convergent/status.h"
#include "convergent/v1/replication.pb.h"
#include "replica/pruning_marker.h"

namespace convergent::internal {

void PutMarkers(const PruningMarkers& markers,
                google::protobuf::RepeatedPtrField<v1::PruningMarker>* out);
Result<PruningMarkers> GetMarkers(const google::protobuf::RepeatedPtrField<v1::PruningMarker>& in);

}  // namespace convergent::internal
