// The codec: CRDT states and deltas <-> bytes (protobuf envelopes, proto/convergent/v1/), and
// user values <-> canonical msgpack. Decoding accepts untrusted bytes: it never crashes, never
// trusts a length, and reports malformed input as a Corruption status (a state of another type
// than asked for as TypeMismatch). Encoding is canonical: equal states give equal bytes.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "convergent/crdt/any_crdt.h"
#include "convergent/crdt/crdt_type.h"
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
#include "convergent/value.h"

namespace convergent {

// ---- User values (msgpack) ----
// Validates msgpack bytes (exactly one object, nesting depth <= 64, valid UTF-8 in str) and
// returns their canonical form: integers in their smallest encoding (non-negative as unsigned),
// floats as float64, str/bin/ext/array/map headers in their smallest form, map entries sorted by
// the canonical bytes of their keys (a duplicate key is an error).
Result<Value> ValueFromMsgpack(std::string_view bytes);
Value NilValue();
Value BoolValue(bool b);
Value IntValue(int64_t i);
Value StringValue(std::string_view utf8);  // caller guarantees valid UTF-8
Value BytesValue(std::string_view bytes);

// ---- CRDT states and deltas ----
std::string Encode(const GCounter& v);
std::string Encode(const PNCounter& v);
std::string Encode(const LWWRegister& v);
std::string Encode(const ORSet& v);
std::string Encode(const Flag& v);
std::string Encode(const MVRegister& v);
std::string Encode(const GSet& v);
// The maps (ORMapState; the typed maps check that every value has their type).
std::string Encode(const ORMap& v);
std::string Encode(const LWWMap& v);
std::string Encode(const PNCounterMap& v);
std::string Encode(const ORMultiMap& v);

// The type of an encoded state, without decoding the rest.
Result<CrdtType> PeekType(std::string_view bytes);

template <typename T>
Result<T> Decode(std::string_view bytes);  // defined for the types above

// A value of any type (the same bytes as Encode of the held type), and back by its type.
std::string EncodeAny(const AnyCrdt& v);
// The bytes of EncodeAny(v), given to `sink` in order, in pieces: a large ORSet's are written a
// piece at a time and never held whole (a digest of a large key costs no copy of its encoding).
void EncodeAnyTo(const AnyCrdt& v, const std::function<void(std::string_view)>& sink);
Result<AnyCrdt> DecodeAny(std::string_view bytes);

}  // namespace convergent
