// Node frames (proto/convergent/v1/node.proto): a tag byte, then a heartbeat or a replication
// frame; on the bus, that frame behind a numbered bus header. DecodeHeartbeat and
// DecodeBusHeader take untrusted bytes and return Corruption for anything malformed.
//
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "convergent/status.h"
#include "node/datacenters.h"
#include "node/membership.h"

namespace convergent::internal {

inline constexpr char kHeartbeatTag = 'H';
inline constexpr char kReplicationTag = 'R';
inline constexpr char kBusTag = 'B';
inline constexpr char kDatacenterHelloTag = 'D';

// The header of a bus frame: who sent it, in which incarnation, and its number (1, 2, ... per
// incarnation; see LossDetector).
struct BusHeader {
  NodeId sender = 0;
  uint64_t incarnation = 0;
  uint64_t seq = 0;
};
// 'B' and three little-endian 64-bit words; the node frame follows.
inline constexpr size_t kBusHeaderSize = 25;

// Appends the header of a bus frame to `out`.
void AppendBusHeader(const BusHeader& h, std::string* out);
// The header of a bus frame; `rest` gets the node frame it carries.
Result<BusHeader> DecodeBusHeader(std::string_view frame, std::string_view* rest);

// 'H' + the encoded heartbeat.
std::string EncodeHeartbeatFrame(const HeartbeatMsg& h);
// The heartbeat of a frame without its tag byte.
Result<HeartbeatMsg> DecodeHeartbeat(std::string_view bytes);

// 'D' + the encoded hello; the hello of a frame without its tag byte.
std::string EncodeDatacenterHelloFrame(const DatacenterHelloMsg& h);
Result<DatacenterHelloMsg> DecodeDatacenterHello(std::string_view bytes);

}  // namespace convergent::internal
