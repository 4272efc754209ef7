#include "replica/snapshot_codec.h"

#include <string>

#include "convergent/codec.h"
#include "convergent/v1/snapshot.pb.h"
#include "replica/pruning_marker_codec.h"

namespace convergent::internal {

std::string EncodeStateRecord(const AnyCrdt& value, const PruningMarkers* markers) {
  v1::SnapshotRecord r;
  r.set_state(EncodeAny(value));
  if (markers != nullptr) PutMarkers(*markers, r.mutable_pruning());
  return r.SerializeAsString();
}

std::string EncodeTombstoneRecord(CrdtType type, uint64_t deleted_at_us) {
  v1::SnapshotRecord r;
  r.mutable_tombstone()->set_type(static_cast<uint32_t>(type));
  r.mutable_tombstone()->set_deleted_at_us(deleted_at_us);
  return r.SerializeAsString();
}

Result<std::variant<StateRecord, Tombstone>> DecodeRecord(std::string_view key,
                                                          std::string_view bytes) {
  v1::SnapshotRecord r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("snapshot record of key '" + std::string(key) + "' does not decode");
  }
  if (r.has_tombstone()) {
    const uint32_t t = r.tombstone().type();
    if (t > 255 || !AnyCrdt::Empty(static_cast<CrdtType>(t)).ok()) {
      return Status::Corruption("snapshot tombstone of key '" + std::string(key) +
                                "' has an unknown type");
    }
    return std::variant<StateRecord, Tombstone>(
        Tombstone{std::string(key), static_cast<CrdtType>(t), r.tombstone().deleted_at_us()});
  }
  if (!r.has_state()) {
    return Status::Corruption("snapshot record of key '" + std::string(key) + "' is empty");
  }
  Result<AnyCrdt> v = DecodeAny(r.state());
  if (!v.ok()) {
    return Status::Corruption("snapshot state of key '" + std::string(key) +
                              "': " + v.status().message());
  }
  auto markers = GetMarkers(r.pruning());
  if (!markers.ok()) {
    return Status::Corruption("snapshot markers of key '" + std::string(key) +
                              "': " + markers.status().message());
  }
  return std::variant<StateRecord, Tombstone>(
      StateRecord{std::move(v).value(), std::move(markers).value()});
}

}  // namespace convergent::internal
