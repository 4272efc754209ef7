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

ContextView ContextView::Of(const ContextParts& c) {
  return {{c.vv_replica.data(), c.vv_replica.size()},
          {c.vv_counter.data(), c.vv_counter.size()},
          {c.cloud_replica.data(), c.cloud_replica.size()},
          {c.cloud_counter.data(), c.cloud_counter.size()}};
}

ContextView ContextView::Of(const v1::CausalContext& m) {
  return {View(m.vv_replica()), View(m.vv_counter()), View(m.cloud_replica()),
          View(m.cloud_counter())};
}

void ContextToParts(const CausalContext& ctx, std::span<const Dot> held,
                    const ReplicaTableBuilder& table, ContextParts* out) {
  ContextParts& c = *out;
  const auto& vv = ctx.version_vector();
  c.vv_replica.reserve(vv.size());
  c.vv_counter.reserve(vv.size());
  for (const auto& [r, n] : vv) {
    c.vv_replica.push_back(table.IndexOf(r));
    c.vv_counter.push_back(n);
  }
  const auto& cloud = ctx.dot_cloud();
  const size_t kept = cloud.size() - held.size();  // held is a subset of the cloud
  c.cloud_replica.reserve(kept);
  c.cloud_counter.reserve(kept);
  auto h = held.begin();
  for (const Dot& d : cloud) {  // both ascending: one merge pass
    while (h != held.end() && *h < d) ++h;
    if (h != held.end() && *h == d) continue;
    c.cloud_replica.push_back(table.IndexOf(d.replica));
    c.cloud_counter.push_back(d.counter);
  }
}

Status ReplicaTableReader::Read(std::span<const uint64_t> ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) {
      return Status::Corruption("replica table not strictly ascending");
    }
  }
  ids_ = ids;
  used_first_64_ = 0;
  used_beyond_64_.assign(ids.size() > 64 ? ids.size() - 64 : 0, false);
  return Status::Ok();
}

Status ReplicaTableReader::DotAt(uint32_t index, uint64_t counter, Dot* out) {
  if (index >= ids_.size()) return Status::Corruption("replica index out of range");
  if (counter == 0) return Status::Corruption("a dot with counter 0");
  if (index < 64) {
    used_first_64_ |= uint64_t{1} << index;
  } else {
    used_beyond_64_[index - 64] = true;
  }
  *out = Dot{ReplicaId{ids_[index]}, counter};
  return Status::Ok();
}

Status ReplicaTableReader::CheckAllUsed() const {
  const uint64_t all_first = ids_.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << ids_.size()) - 1;
  if (used_first_64_ != all_first ||
      std::find(used_beyond_64_.begin(), used_beyond_64_.end(), false) != used_beyond_64_.end()) {
    return Status::Corruption("a replica in the table that nothing refers to");
  }
  return Status::Ok();
}

Result<CausalContext> DecodeContext(const ContextView& c, ReplicaTableReader* table) {
  if (c.vv_replica.size() != c.vv_counter.size()) {
    return Status::Corruption("context: vv_replica and vv_counter differ in length");
  }
  if (c.cloud_replica.size() != c.cloud_counter.size()) {
    return Status::Corruption("context: cloud_replica and cloud_counter differ in length");
  }
  CausalContext::VersionVector vv;
  vv.reserve(c.vv_replica.size());
  for (size_t i = 0; i < c.vv_replica.size(); ++i) {
    if (i > 0 && !(c.vv_replica[i - 1] < c.vv_replica[i])) {
      return Status::Corruption("context: vv_replica not strictly ascending");
    }
    Dot d;
    if (Status s = table->DotAt(c.vv_replica[i], c.vv_counter[i], &d); !s.ok()) {
      return Status::Corruption("context: version vector: " + s.message());
    }
    vv.push_back({d.replica, d.counter});
  }
  CausalContext::DotCloud cloud;
  for (size_t i = 0; i < c.cloud_replica.size(); ++i) {
    if (i > 0 && !(std::pair(c.cloud_replica[i - 1], c.cloud_counter[i - 1]) <
                   std::pair(c.cloud_replica[i], c.cloud_counter[i]))) {
      return Status::Corruption("context: cloud not strictly ascending");
    }
    Dot d;
    if (Status s = table->DotAt(c.cloud_replica[i], c.cloud_counter[i], &d); !s.ok()) {
      return Status::Corruption("context: cloud: " + s.message());
    }
    cloud.push_back(d);  // ascending, checked above
  }
  return CausalContext::FromParts(std::move(vv), std::move(cloud));
}

Status ReadTableAndContext(std::span<const uint64_t> replicas, const ContextView& context,
                           ReplicaTableReader* table, CausalContext* ctx) {
  if (Status s = table->Read(replicas); !s.ok()) return s;
  if (context.vv_replica.empty() && context.vv_counter.empty() && context.cloud_replica.empty() &&
      context.cloud_counter.empty()) {
    *ctx = CausalContext();  // nothing on the wire (an add's delta: its one dot is in its store)
    return Status::Ok();
  }
  Result<CausalContext> c = DecodeContext(context, table);
  if (!c.ok()) return c.status();
  *ctx = std::move(c).value();
  return Status::Ok();
}

Status CheckStoreDot(const CausalContext& wire_ctx, const Dot& d, AddBackDots* add_back) {
  const uint64_t contiguous = wire_ctx.Contiguous(d.replica);
  if (d.counter <= contiguous) return Status::Ok();
  if (d.counter - 1 == contiguous) {
    return Status::Corruption("a store dot next to its replica's range (context not compact)");
  }
  if (wire_ctx.InCloud(d)) {
    return Status::Corruption("a store dot listed in the context cloud too");
  }
  add_back->push_back(d);
  return Status::Ok();
}

std::span<const Dot> HeldCloudDots::Finish() {
  std::sort(held_.begin(), held_.end());
  return {held_.data(), held_.size()};
}

}  // namespace convergent::internal
