// The parts of the wire encoding shared by the causal CRDT states (ORSet, MVRegister), internal
// to the codec: the replica table of a message (ids listed once, ascending; dots refer to them by
// index) and the CausalContext message, whose cloud leaves out the dots the state's store holds.
//
// Thread safety: plain values, one per encode or decode call.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <vector>

#include "convergent/crdt/causal_context.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::internal {

// Encoding: the distinct replicas a message mentions, sorted ascending.
class ReplicaTableBuilder {
 public:
  void Add(ReplicaId r) {
    if (ids_.empty() || ids_.back() != r.value) ids_.push_back(r.value);
  }
  void AddContext(const CausalContext& ctx);
  // Sorts and removes duplicates; call once, after the last Add and before IndexOf.
  void Seal();
  // The index of a replica that was added.
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

}  // namespace convergent::internal
