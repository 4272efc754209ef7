// The parts of the wire encoding shared by the causal CRDT states (ORSet, MVRegister), internal
// to the codec: the replica table of a message (ids listed once, ascending; dots refer to them by
// index) and the CausalContext message, whose cloud leaves out the dots the state's store holds.
//
// Thread safety: plain values, one per encode or decode call.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::internal {

// The four arrays of a CausalContext message as plain values: what an encoder writes (see
// ContextToParts) or a wire reader reads (orset_wire.h).
struct ContextParts {
  boost::container::small_vector<uint32_t, 2> vv_replica;
  boost::container::small_vector<uint64_t, 2> vv_counter;
  boost::container::small_vector<uint32_t, 2> cloud_replica;
  boost::container::small_vector<uint64_t, 2> cloud_counter;

  bool empty() const {
    return vv_replica.empty() && vv_counter.empty() && cloud_replica.empty() &&
           cloud_counter.empty();
  }
  void clear() {
    vv_replica.clear();
    vv_counter.clear();
    cloud_replica.clear();
    cloud_counter.clear();
  }
  friend bool operator==(const ContextParts&, const ContextParts&) = default;
};

// The same four arrays as views, of ContextParts or of a v1::CausalContext message.
struct ContextView {
  std::span<const uint32_t> vv_replica;
  std::span<const uint64_t> vv_counter;
  std::span<const uint32_t> cloud_replica;
  std::span<const uint64_t> cloud_counter;

  static ContextView Of(const ContextParts& c);
  static ContextView Of(const v1::CausalContext& m);
};

// A repeated protobuf scalar field as a view.
template <typename T>
std::span<const T> View(const google::protobuf::RepeatedField<T>& f) {
  return std::span<const T>(f.data(), static_cast<size_t>(f.size()));
}

// Encoding: the replicas of a state's context, ascending. A state's store only holds dots of its
// context, so these are all the replicas the state mentions.
class ReplicaTableBuilder {
 public:
  explicit ReplicaTableBuilder(const CausalContext& ctx);
  // The index of a replica of the context.
  uint32_t IndexOf(ReplicaId r) const;
  void WriteTo(google::protobuf::RepeatedField<uint64_t>* out) const;
  std::span<const uint64_t> ids() const { return {ids_.data(), ids_.size()}; }

 private:
  boost::container::small_vector<uint64_t, 2> ids_;
  mutable size_t last_ = 0;  // the index found last: dots often come from one replica in a row
};

// Writes the arrays of ctx into *out (empty), leaving out of the cloud the dots in `held`
// (sorted ascending): the dots the state's store holds, which a decoder adds back. Empty parts
// are left out of the message.
void ContextToParts(const CausalContext& ctx, std::span<const Dot> held,
                    const ReplicaTableBuilder& table, ContextParts* out);

// Decoding: the replica table of a message, checked strictly ascending. Remembers which entries
// dots refer to, so a table entry no dot uses (not canonical) can be rejected.
class ReplicaTableReader {
 public:
  // Reads the table `ids`, which must outlive the reader.
  Status Read(std::span<const uint64_t> ids);
  // The dot (replicas[index], counter); Corruption for an index out of range or counter 0.
  Status DotAt(uint32_t index, uint64_t counter, Dot* out);
  Status CheckAllUsed() const;

 private:
  std::span<const uint64_t> ids_;
  uint64_t used_first_64_ = 0;        // bit i: entry i is used
  std::vector<bool> used_beyond_64_;  // entries 64 on, in the rare larger table
};

// The context encoded in c, without the store's dots (see CheckStoreDot).
Result<CausalContext> DecodeContext(const ContextView& c, ReplicaTableReader* table);

// Checks one dot of the decoded store against the decoded context `wire_ctx` (the context as it
// was on the wire, before the store's dots are added back): Corruption when the wire cloud lists
// it too, or when it would extend its replica's range (the encoder would have folded it into
// the vector). Appends it to *add_back when the context does not contain it yet.
using AddBackDots = boost::container::small_vector<Dot, 1>;
Status CheckStoreDot(const CausalContext& wire_ctx, const Dot& d, AddBackDots* add_back);

// The dots held by a store, given one by one to Collect, that a context's cloud also holds
// (sorted on Finish): what ContextToParts leaves out of the cloud.
class HeldCloudDots {
 public:
  explicit HeldCloudDots(const CausalContext& ctx) : ctx_(ctx) {}
  void Collect(const Dot& d) {
    if (ctx_.InCloud(d)) held_.push_back(d);
  }
  std::span<const Dot> Finish();

 private:
  const CausalContext& ctx_;
  boost::container::small_vector<Dot, 1> held_;  // an add's delta holds its one cloud dot
};

// Writes the replica table and the context (left out when it encodes to nothing) of a causal
// state message (ORSetState, MVRegisterState, ORMapState), once `held` has collected every dot
// of the store.
template <typename StateMsg>
void WriteTableAndContext(const CausalContext& ctx, HeldCloudDots* held,
                          const ReplicaTableBuilder& table, StateMsg* m) {
  table.WriteTo(m->mutable_replicas());
  ContextParts c;
  ContextToParts(ctx, held->Finish(), table, &c);
  if (c.empty()) return;
  v1::CausalContext* out = m->mutable_context();
  out->mutable_vv_replica()->Add(c.vv_replica.begin(), c.vv_replica.end());
  out->mutable_vv_counter()->Add(c.vv_counter.begin(), c.vv_counter.end());
  out->mutable_cloud_replica()->Add(c.cloud_replica.begin(), c.cloud_replica.end());
  out->mutable_cloud_counter()->Add(c.cloud_counter.begin(), c.cloud_counter.end());
}

// Reads the replica table and the context (as on the wire: without the store's dots) of a
// causal state, from plain views (ids must outlive the table reader) or from its message.
Status ReadTableAndContext(std::span<const uint64_t> replicas, const ContextView& context,
                           ReplicaTableReader* table, CausalContext* ctx);
template <typename StateMsg>
Status ReadTableAndContext(const StateMsg& m, ReplicaTableReader* table, CausalContext* ctx) {
  return ReadTableAndContext(View(m.replicas()), ContextView::Of(m.context()), table, ctx);
}

}  // namespace convergent::internal
