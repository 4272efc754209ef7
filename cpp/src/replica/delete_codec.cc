#include "replica/delete_codec.h"

#include <utility>

namespace convergent::internal {

void PutDots(const DeleteDots& dots, Fixed64s* replicas, Fixed64s* counters) {
  replicas->Reserve(static_cast<int>(dots.size()));
  counters->Reserve(static_cast<int>(dots.size()));
  for (const Dot& d : dots) {
    replicas->Add(d.replica.value);
    counters->Add(d.counter);
  }
}

Result<DeleteDots> GetDots(const Fixed64s& replicas, const Fixed64s& counters) {
  if (replicas.size() != counters.size()) {
    return Status::Corruption("dots with mismatched counts");
  }
  DeleteDots dots;
  dots.reserve(static_cast<size_t>(replicas.size()));
  for (int i = 0; i < replicas.size(); ++i) {
    const Dot d{ReplicaId{replicas[i]}, counters[i]};
    if (d.counter == 0 || (!dots.empty() && !(dots.back() < d))) {
      return Status::Corruption("dots out of order or with counter 0");
    }
    dots.push_back(d);
  }
  return dots;
}

void PutVector(const CausalContext::VersionVector& vv, v1::VersionVector* out) {
  out->mutable_replicas()->Reserve(static_cast<int>(vv.size()));
  out->mutable_counters()->Reserve(static_cast<int>(vv.size()));
  for (const auto& e : vv) {
    out->add_replicas(e.replica.value);
    out->add_counters(e.counter);
  }
}

Result<CausalContext::VersionVector> GetVector(const v1::VersionVector& in) {
  if (in.replicas_size() != in.counters_size()) {
    return Status::Corruption("a version vector with mismatched counts");
  }
  CausalContext::VersionVector vv;
  vv.reserve(static_cast<size_t>(in.replicas_size()));
  for (int i = 0; i < in.replicas_size(); ++i) {
    const ReplicaId r{in.replicas(i)};
    if (in.counters(i) == 0 || (!vv.empty() && !(vv.back().replica < r))) {
      return Status::Corruption("a version vector out of order or with counter 0");
    }
    vv.push_back({r, in.counters(i)});
  }
  return vv;
}

void PutContext(const CausalContext& ctx, v1::KeyContext* out) {
  PutVector(ctx.version_vector(), out->mutable_contiguous());
  PutDots(ctx.dot_cloud(), out->mutable_cloud_replicas(), out->mutable_cloud_counters());
}

Result<CausalContext> GetContext(const v1::KeyContext& in) {
  auto vv = GetVector(in.contiguous());
  if (!vv.ok()) return vv.status();
  auto cloud = GetDots(in.cloud_replicas(), in.cloud_counters());
  if (!cloud.ok()) return cloud.status();
  return CausalContext::FromParts(std::move(vv).value(), std::move(cloud).value());
}

}  // namespace convergent::internal
