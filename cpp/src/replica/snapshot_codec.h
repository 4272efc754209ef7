// Snapshot records (proto/convergent/v1/snapshot.proto) <-> a key's state or tombstone, or (the
// record named "", which no key can be) the store's deletes. Decoding takes untrusted bytes (a
// file) and returns Corruption for anything malformed.
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
std::string EncodeStateRecord(const AnyCrdt& value, const PruningMarkers* markers,
                              uint64_t last_active_us = 0);
std::string EncodeTombstoneRecord(const Tombstone& t);  // its key is the record's name
// The name of the deletes record.
inline constexpr std::string_view kDeletesRecord = "";
// The store's deletes (replica/tombstone_collector.h): those seen, the collection floor and its
// retired entries (replica/retired_deletes.h); and the wall time of the snapshot write that
// holds it (0: not known).
struct DeletesRecord {
  CausalContext seen;
  CausalContext collected;
  uint64_t written_at_us = 0;
  CausalContext::VersionVector retired;
};
std::string EncodeDeletesRecord(const DeletesRecord& d);
// A decoded state record: the value and its markers.
struct StateRecord {
  AnyCrdt value;
  PruningMarkers pruning;
  uint64_t last_active_us = 0;  // expiring keys only
};
// The state, the tombstone (whose key is `key`), or the deletes (key kDeletesRecord).
using Record = std::variant<StateRecord, Tombstone, DeletesRecord>;
Result<Record> DecodeRecord(std::string_view key, std::string_view bytes);

}  // namespace convergent::internal
