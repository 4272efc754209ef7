// Node frames (proto/convergent/v1/node.proto): a tag byte, then a heartbeat or a replication
// frame. DecodeHeartbeat takes untrusted bytes and returns Corruption for anything malformed.
//
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "convergent/status.h"
#include "node/membership.h"

namespace convergent::internal {

inline constexpr char kHeartbeatTag = 'H';
inline constexpr char kReplicationTag = 'R';

// 'H' + the encoded heartbeat.
std::string EncodeHeartbeatFrame(const HeartbeatMsg& h);
// The heartbeat of a frame without its tag byte.
Result<HeartbeatMsg> DecodeHeartbeat(std::string_view bytes);

}  // namespace convergent::internal
