#include "codec/context_codec.h"

#include <algorithm>
#include <cassert>
#include <set>
#include <string>
#include <utility>

namespace convergent::internal {

ReplicaTableBuilder::ReplicaTableBuilder(const CausalContext& ctx) {
  ids_.reserve(ctx.version_vector().size());
  for (const auto& [r, n] : ctx.version_vector()) ids_.push_back(r.value);
  for (const Dot& d : ctx.dot_cloud()) ids_.push_back(d.replica.value);
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

uint32_t ReplicaTableBuilder::IndexOf(ReplicaId r) const {
  if (last_ < ids_.size() && ids_[last_] == r.value) return static_cast<uint32_t>(last_);
  last_ = static_cast<size_t>(std::lower_bound(ids_.begin(), ids_.end(), r.value) - ids_.begin());
  assert(last_ < ids_.size() && ids_[last_] == r.value && "IndexOf a replica not in the context");
  return static_cast<uint32_t>(last_);
}

void ReplicaTableBuilder::WriteTo(google::protobuf::RepeatedField<uint64_t>* out) const {
  out->Reserve(static_cast<int>(ids_.size()));
  for (uint64_t id : ids_) out->AddAlreadyReserved(id);
}

void EncodeContext(const CausalContext& ctx, const std::vector<Dot>& held,
                   const ReplicaTableBuilder& table, v1::CausalContext* msg) {
  const auto& vv = ctx.version_vector();
  msg->mutable_vv_replica()->Reserve(static_cast<int>(vv.size()));
  msg->mutable_vv_counter()->Reserve(static_cast<int>(vv.size()));
  for (const auto& [r, n] : vv) {
    msg->add_vv_replica(table.IndexOf(r));
    msg->add_vv_counter(n);
  }
  const auto& cloud = ctx.dot_cloud();
  const size_t kept = cloud.size() - held.size();  // held is a subset of the cloud
  msg->mutable_cloud_replica()->Reserve(static_cast<int>(kept));
  msg->mutable_cloud_counter()->Reserve(static_cast<int>(kept));
  auto h = held.begin();
  for (const Dot& d : cloud) {  // both ascending: one merge pass
    while (h != held.end() && *h < d) ++h;
    if (h != held.end() && *h == d) continue;
    msg->add_cloud_replica(table.IndexOf(d.replica));
    msg->add_cloud_counter(d.counter);
  }
}

Result<ReplicaTableReader> ReplicaTableReader::Read(
    const google::protobuf::RepeatedField<uint64_t>& ids) {
  for (int i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) {
      return Status::Corruption("replica table not strictly ascending");
    }
  }
  ReplicaTableReader t;
  t.ids_ = &ids;
  t.used_.assign(static_cast<size_t>(ids.size()), false);
  return t;
}

Status ReplicaTableReader::DotAt(uint32_t index, uint64_t counter, Dot* out) {
  if (index >= used_.size()) return Status::Corruption("replica index out of range");
  if (counter == 0) return Status::Corruption("a dot with counter 0");
  used_[index] = true;
  *out = Dot{ReplicaId{(*ids_)[static_cast<int>(index)]}, counter};
  return Status::Ok();
}

Status ReplicaTableReader::CheckAllUsed() const {
  if (std::find(used_.begin(), used_.end(), false) != used_.end()) {
    return Status::Corruption("a replica in the table that nothing refers to");
  }
  return Status::Ok();
}

Result<CausalContext> DecodeContext(const v1::CausalContext& msg, ReplicaTableReader* table) {
  if (msg.vv_replica_size() != msg.vv_counter_size()) {
    return Status::Corruption("context: vv_replica and vv_counter differ in length");
  }
  if (msg.cloud_replica_size() != msg.cloud_counter_size()) {
    return Status::Corruption("context: cloud_replica and cloud_counter differ in length");
  }
  CausalContext::VersionVector vv;
  vv.reserve(static_cast<size_t>(msg.vv_replica_size()));
  for (int i = 0; i < msg.vv_replica_size(); ++i) {
    if (i > 0 && !(msg.vv_replica(i - 1) < msg.vv_replica(i))) {
      return Status::Corruption("context: vv_replica not strictly ascending");
    }
    Dot d;
    if (Status s = table->DotAt(msg.vv_replica(i), msg.vv_counter(i), &d); !s.ok()) {
      return Status::Corruption("context: version vector: " + s.message());
    }
    vv.emplace_back(d.replica, d.counter);
  }
  std::set<Dot> cloud;
  for (int i = 0; i < msg.cloud_replica_size(); ++i) {
    if (i > 0 && !(std::pair(msg.cloud_replica(i - 1), msg.cloud_counter(i - 1)) <
                   std::pair(msg.cloud_replica(i), msg.cloud_counter(i)))) {
      return Status::Corruption("context: cloud not strictly ascending");
    }
    Dot d;
    if (Status s = table->DotAt(msg.cloud_replica(i), msg.cloud_counter(i), &d); !s.ok()) {
      return Status::Corruption("context: cloud: " + s.message());
    }
    cloud.insert(cloud.end(), d);
  }
  return CausalContext::FromParts(std::move(vv), std::move(cloud));
}

Status CheckStoreDot(const CausalContext& wire_ctx, const Dot& d, std::vector<Dot>* add_back) {
  const uint64_t contiguous = wire_ctx.Contiguous(d.replica);
  if (d.counter <= contiguous) return Status::Ok();
  if (d.counter - 1 == contiguous) {
    return Status::Corruption("a store dot next to its replica's range (context not compact)");
  }
  if (wire_ctx.dot_cloud().count(d) != 0) {
    return Status::Corruption("a store dot listed in the context cloud too");
  }
  add_back->push_back(d);
  return Status::Ok();
}

const std::vector<Dot>& HeldCloudDots::Finish() {
  std::sort(held_.begin(), held_.end());
  return held_;
}

}  // namespace convergent::internal
