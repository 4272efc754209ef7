// Frames of the replicator (replica/messages.h) <-> bytes (proto/convergent/v1/replication.proto).
// DecodeFrame takes untrusted bytes: it checks every count and index and returns Corruption for
// anything malformed; it does not decode the CRDT states inside (the replicator does, per entry).
//
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "convergent/status.h"
#include "replica/messages.h"

namespace convergent::internal {

std::string EncodeFrame(const FrameMsg& frame);
Result<FrameMsg> DecodeFrame(std::string_view bytes);

}  // namespace convergent::internal
