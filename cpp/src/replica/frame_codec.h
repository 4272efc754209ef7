// Frames of the replicator (replica/messages.h) <-> bytes (proto/convergent/v1/replication.proto).
// DecodeFrame takes untrusted bytes: it checks every count and index and returns Corruption for
// anything malformed; it does not decode the CRDT states inside (the replicator does, per entry).
//
// Thread safety: reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "convergent/status.h"
#include "replica/frame_rope.h"
#include "replica/messages.h"

namespace convergent::internal {

// (By value: the key states' bytes, often the largest part, move into the encoding.)
std::string EncodeFrame(FrameMsg frame);
// The same bytes as a rope (replica/frame_rope.h): one string when they are at most
// `contiguous_up_to` bytes, else segments in which the key states' bytes are not copied.
FrameRope EncodeFrameRope(FrameMsg frame, size_t contiguous_up_to);
Result<FrameMsg> DecodeFrame(std::string_view bytes);
// The kind of an encoded frame, read from its last body field without decoding it (for traces);
// nullopt when it has none or is malformed.
std::optional<FrameKind> PeekFrameKind(std::string_view bytes);

}  // namespace convergent::internal
