#include "replica/snapshot_codec.h"

#include <string>

#include "convergent/codec.h"
#include "convergent/v1/snapshot.pb.h"
#include "replica/delete_codec.h"
#include "replica/pruning_marker_codec.h"

namespace convergent::internal {

std::string EncodeStateRecord(const AnyCrdt& value, const PruningMarkers* markers,
                              uint64_t last_active_us) {
  v1::SnapshotRecord r;
  r.set_state(EncodeAny(value));
  if (markers != nullptr) PutMarkers(*markers, r.mutable_pruning());
  r.set_last_active_us(last_active_us);
  return r.SerializeAsString();
}

std::string EncodeTombstoneRecord(const Tombstone& t) {
  v1::SnapshotRecord r;
  v1::KeyTombstone* m = r.mutable_tombstone();
  m->set_type(static_cast<uint32_t>(t.type));
  m->set_deleted_at_us(t.deleted_at_us);
  PutDots(t.dots, m->mutable_dot_replicas(), m->mutable_dot_counters());
  return r.SerializeAsString();
}

std::string EncodeDeletesRecord(const DeletesRecord& d) {
  v1::SnapshotDeletes r;
  PutVector(d.seen.version_vector(), r.mutable_seen());
  PutDots(d.seen.dot_cloud(), r.mutable_seen_cloud_replicas(), r.mutable_seen_cloud_counters());
  PutVector(d.collected.version_vector(), r.mutable_collected());
  r.set_written_at_us(d.written_at_us);
  if (!d.retired.empty()) PutVector(d.retired, r.mutable_retired());
  return r.SerializeAsString();
}

namespace {

Result<Record> DecodeDeletes(std::string_view bytes) {
  v1::SnapshotDeletes r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("the snapshot's deletes record does not decode");
  }
  auto vv = GetVector(r.seen());
  auto cloud = GetDots(r.seen_cloud_replicas(), r.seen_cloud_counters());
  auto floor = GetVector(r.collected());
  auto retired = GetVector(r.retired());
  if (!vv.ok() || !cloud.ok() || !floor.ok() || !retired.ok()) {
    return Status::Corruption("the snapshot's deletes record is malformed");
  }
  auto seen = CausalContext::FromParts(std::move(vv).value(), std::move(cloud).value());
  auto collected = CausalContext::FromParts(std::move(floor).value(), {});
  if (!seen.ok() || !collected.ok()) {
    return Status::Corruption("the snapshot's deletes record is not in compact form");
  }
  return Record(DeletesRecord{std::move(seen).value(), std::move(collected).value(),
                              r.written_at_us(), std::move(retired).value()});
}

}  // namespace

Result<Record> DecodeRecord(std::string_view key, std::string_view bytes) {
  if (key == kDeletesRecord) return DecodeDeletes(bytes);
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
    auto dots = GetDots(r.tombstone().dot_replicas(), r.tombstone().dot_counters());
    if (!dots.ok()) {
      return Status::Corruption("snapshot tombstone of key '" + std::string(key) +
                                "': " + dots.status().message());
    }
    return Record(Tombstone{std::string(key), static_cast<CrdtType>(t),
                            r.tombstone().deleted_at_us(), std::move(dots).value()});
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
  return Record(StateRecord{std::move(v).value(), std::move(markers).value(), r.last_active_us()});
}

}  // namespace convergent::internal
