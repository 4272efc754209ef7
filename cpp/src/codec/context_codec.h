// The parts of the wire encoding shared by the causal CRDT states (ORSet, MVRegister), internal
// to the codec: the replica table of a message (ids listed once, ascending; dots refer to them by
// index) and the CausalContext message, whose cloud leaves out the dots the state's store holds.
//
// Thread safety: plain values, one per encode or decode call.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::internal {

// Encoding: the replicas of a state's context, ascending. A state's store only holds dots of its
// context, so these are all the replicas the state mentions.
class ReplicaTableBuilder {
 public:
  explicit ReplicaTableBuilder(const CausalContext& ctx);
  // The index of a replica of the context.
  uint32_t IndexOf(ReplicaId r) const;
  void WriteTo(google::protobuf::RepeatedField<uint64_t>* out) const;

 private:
  std::vector<uint64_t> ids_;
  mutable size_t last_ = 0;  // the index found last: dots often come from one replica in a row
};

// Writes ctx into *msg, leaving out of the cloud the dots in `held` (sorted ascending): the dots
// the state's store holds, which a decoder adds back.
void EncodeContext(const CausalContext& ctx, const std::vector<Dot>& held,
                   const ReplicaTableBuilder& table, v1::CausalContext* msg);

// Decoding: the replica table of a message, checked strictly ascending. Remembers which entries
// dots refer to, so a table entry no dot uses (not canonical) can be rejected.
class ReplicaTableReader {
 public:
  static Result<ReplicaTableReader> Read(const google::protobuf::RepeatedField<uint64_t>& ids);
  // The dot (replicas[index], counter); Corruption for an index out of range or counter 0.
  Status DotAt(uint32_t index, uint64_t counter, Dot* out);
  Status CheckAllUsed() const;

 private:
  const google::protobuf::RepeatedField<uint64_t>* ids_ = nullptr;
  std::vector<bool> used_;
};

// The context encoded in msg, without the store's dots (see CheckStoreDot).
Result<CausalContext> DecodeContext(const v1::CausalContext& msg, ReplicaTableReader* table);

// Checks one dot of the decoded store against the decoded context `wire_ctx` (the context as it
// was on the wire, before the store's dots are added back): Corruption when the wire cloud lists
// it too, or when it would extend its replica's range (the encoder would have folded it into
// the vector). Appends it to *add_back when the context does not contain it yet.
Status CheckStoreDot(const CausalContext& wire_ctx, const Dot& d, std::vector<Dot>* add_back);

// The dots held by a store, given one by one to Collect, that a context's cloud also holds
// (sorted on Finish): what EncodeContext leaves out of the cloud.
class HeldCloudDots {
 public:
  explicit HeldCloudDots(const CausalContext& ctx) : cloud_(ctx.dot_cloud()) {}
  void Collect(const Dot& d) {
    if (!cloud_.empty() && cloud_.count(d) != 0) held_.push_back(d);
  }
  const std::vector<Dot>& Finish();

 private:
  const std::set<Dot>& cloud_;
  std::vector<Dot> held_;
};

// Writes the replica table and the context (left out when it encodes to nothing) of a causal
// state message (ORSetState, MVRegisterState, ORMapState), once `held` has collected every dot
// of the store.
template <typename StateMsg>
void WriteTableAndContext(const CausalContext& ctx, HeldCloudDots* held,
                          const ReplicaTableBuilder& table, StateMsg* m) {
  table.WriteTo(m->mutable_replicas());
  const std::vector<Dot>& held_dots = held->Finish();
  if (!ctx.version_vector().empty() || ctx.dot_cloud().size() > held_dots.size()) {
    EncodeContext(ctx, held_dots, table, m->mutable_context());
  }
}

// Reads the replica table and the context (as on the wire: without the store's dots) of a
// causal state message.
template <typename StateMsg>
Status ReadTableAndContext(const StateMsg& m, ReplicaTableReader* table, CausalContext* ctx) {
  Result<ReplicaTableReader> t = ReplicaTableReader::Read(m.replicas());
  if (!t.ok()) return t.status();
  *table = std::move(t).value();
  Result<CausalContext> c = DecodeContext(m.context(), table);
  if (!c.ok()) return c.status();
  *ctx = std::move(c).value();
  return Status::Ok();
}

}  // namespace convergent::internal
