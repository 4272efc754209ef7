// Snapshot records (proto/convergent/v1/snapshot.proto) <-> a key's state or tombstone. Decoding
// takes untrusted bytes (a file) and returns Corruption for anything malformed.
//
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "convergent/crdt/any_crdt.h"
#include "convergent/status.h"
#include "replica/messages.h"

namespace convergent::internal {

// A key's state record (with its pruning markers, if any).
std::string EncodeStateRecord(const AnyCrdt& value, const PruningMarkers* markers);
std::string EncodeTombstoneRecord(CrdtType type, uint64_t deleted_at_us);
// A decoded state record: the value and its markers.
struct StateRecord {
  AnyCrdt value;
  PruningMarkers pruning;
};
// The state, or the tombstone (whose key is `key`).
Result<std::variant<StateRecord, Tombstone>> DecodeRecord(std::string_view key,
                                                          std::string_view bytes);

}  // namespace convergent::internal
