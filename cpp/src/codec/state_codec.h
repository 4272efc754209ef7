// The CRDT states <-> their protobuf messages (proto/convergent/v1/crdt.proto), internal to the
// codec. WriteState sets the matching field of the Crdt envelope in the canonical form; ReadState
// validates everything in the message (it comes from untrusted bytes) and builds the state
// through the types' checked builders, or returns Corruption. ReadState may move bytes out of
// the message.
//
// Thread safety: reentrant.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "convergent/crdt/flag.h"
#include "convergent/crdt/gcounter.h"
#include "convergent/crdt/gset.h"
#include "convergent/crdt/lww_map.h"
#include "convergent/crdt/lww_register.h"
#include "convergent/crdt/mv_register.h"
#include "convergent/crdt/ormap.h"
#include "convergent/crdt/ormultimap.h"
#include "convergent/crdt/orset.h"
#include "convergent/crdt/pncounter_map.h"
#include "convergent/status.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::internal {

// scalar_state_codec.cc
void WriteState(const GCounter& v, v1::Crdt* msg);
void WriteState(const PNCounter& v, v1::Crdt* msg);
void WriteState(const LWWRegister& v, v1::Crdt* msg);
void WriteState(const Flag& v, v1::Crdt* msg);
void WriteState(const GSet& v, v1::Crdt* msg);
Result<GCounter> ReadState(v1::Crdt* msg, std::type_identity<GCounter>);
Result<PNCounter> ReadState(v1::Crdt* msg, std::type_identity<PNCounter>);
Result<LWWRegister> ReadState(v1::Crdt* msg, std::type_identity<LWWRegister>);
Result<Flag> ReadState(v1::Crdt* msg, std::type_identity<Flag>);
Result<GSet> ReadState(v1::Crdt* msg, std::type_identity<GSet>);

// causal_state_codec.cc. ORSet, the hot one, bypasses the message objects: it encodes the whole
// envelope, and decodes it from the bytes, checking their type itself.
std::string EncodeORSet(const ORSet& v);
// The same bytes, given to `sink` in pieces, never held whole.
void EncodeORSetTo(const ORSet& v, const std::function<void(std::string_view)>& sink);
Result<ORSet> DecodeORSet(std::string_view bytes);
void WriteState(const MVRegister& v, v1::Crdt* msg);
Result<MVRegister> ReadState(v1::Crdt* msg, std::type_identity<MVRegister>);

// map_state_codec.cc
void WriteState(const ORMap& v, v1::Crdt* msg);
void WriteState(const LWWMap& v, v1::Crdt* msg);
void WriteState(const PNCounterMap& v, v1::Crdt* msg);
void WriteState(const ORMultiMap& v, v1::Crdt* msg);
Result<ORMap> ReadState(v1::Crdt* msg, std::type_identity<ORMap>);
Result<LWWMap> ReadState(v1::Crdt* msg, std::type_identity<LWWMap>);
Result<PNCounterMap> ReadState(v1::Crdt* msg, std::type_identity<PNCounterMap>);
Result<ORMultiMap> ReadState(v1::Crdt* msg, std::type_identity<ORMultiMap>);

// envelope.cc: Ok when a state of type `got` is the `want` a decoder asked for, else TypeMismatch.
Status CheckStateType(CrdtType want, CrdtType got);

// A Corruption status "<type>: <what s says>".
Status Corruption(const char* type, const Status& s);
Status Corruption(const char* type, const char* what);

}  // namespace convergent::internal
