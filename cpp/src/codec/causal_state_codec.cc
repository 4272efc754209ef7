// The states with a causal context: ORSet and MVRegister. Both list their replicas once (the
// replica table, ascending) and name dots by table index; their context's cloud leaves out the
// dots their store holds (see context_codec.h and dot_store_codec.h).
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/canonical_msgpack.h"
#include "codec/context_codec.h"
#include "codec/dot_store_codec.h"
#include "codec/envelope_fields.h"
#include "codec/orset_wire.h"
#include "codec/state_codec.h"

namespace convergent::internal {

// ---- ORSet ----
// The set store (dot_store_codec.h) and the context, written and read without protobuf messages
// (orset_wire.h): the bytes are those of the ORSetState message.
namespace {

// What both ORSet writers take: the replica table, the sorted store, and the context without the
// cloud dots the store holds (collected while the store is sorted).
class ORSetEncoding {
 public:
  explicit ORSetEncoding(const ORSet& v)
      : table_(v.context()), held_(v.context()), store_(v.store(), table_, &held_) {
    ContextToParts(v.context(), held_.Finish(), table_, &context_);
  }
  std::string Write() const { return WriteORSetEnvelope(table_.ids(), context_, store_, table_); }
  void WriteTo(const std::function<void(std::string_view)>& sink) const {
    WriteORSetEnvelopeTo(table_.ids(), context_, store_, table_, sink);
  }

 private:
  const ReplicaTableBuilder table_;
  HeldCloudDots held_;
  const SortedSetStore store_;
  ContextParts context_;
};

// The set as its one-dot form (orset_wire.h) when it is one: one element under one dot, and a
// context of that dot alone.
std::optional<ORSetDot> OneDot(const ORSet& v) {
  if (v.store().size() != 1) return std::nullopt;
  const auto& [element, dots] = *v.store().entries().begin();
  if (dots.size() != 1) return std::nullopt;
  const Dot d = dots.begin()->dot;
  if (v.context().SingleDot() != d) return std::nullopt;
  return ORSetDot{d, element.bytes()};
}

}  // namespace

std::string EncodeORSet(const ORSet& v) {
  if (const std::optional<ORSetDot> one = OneDot(v)) return WriteORSetDotEnvelope(*one);
  return ORSetEncoding(v).Write();
}

void EncodeORSetTo(const ORSet& v, const std::function<void(std::string_view)>& sink) {
  if (const std::optional<ORSetDot> one = OneDot(v)) return sink(WriteORSetDotEnvelope(*one));
  ORSetEncoding(v).WriteTo(sink);
}

namespace {

Result<ORSet> DecodeORSetDot(std::string_view bytes) {
  Result<ORSetDot> one = ReadORSetDot(bytes);
  if (!one.ok()) return one.status();
  std::string scratch;
  if (!IsCanonicalMsgpack(one->element, &scratch)) {
    return Status::Corruption("ORSet: an element not canonical msgpack");
  }
  return ORSet::OfDot(Value::FromCanonical(one->element), one->dot);
}

}  // namespace

Result<ORSet> DecodeORSet(std::string_view bytes) {
  static constexpr char kType[] = "ORSet";
  ORSetFields w;
  Result<CrdtType> type = StateTypeOf(ParseORSetEnvelope(bytes, &w));
  if (!type.ok()) return type.status();
  if (Status s = CheckStateType(CrdtType::kORSet, type.value()); !s.ok()) return s;
  if (w.dot_form) return DecodeORSetDot(*w.dot_form);
  ReplicaTableReader table;
  CausalContext ctx;  // as on the wire: without the store's dots
  if (Status s = ReadTableAndContext({w.replicas.data(), w.replicas.size()},
                                     ContextView::Of(w.context), &table, &ctx);
      !s.ok()) {
    return Corruption(kType, s);
  }
  StoreDotReader dots(&table, &ctx);
  SetDotStore store;
  const Status read = w.store.held ? ReadSetStore(SetStoreView::Of(w.store.values), &dots, &store)
                                   : ReadSetStore(w.store, &dots, &store);
  if (!read.ok()) return Corruption(kType, read);
  if (Status s = table.CheckAllUsed(); !s.ok()) return Corruption(kType, s);
  dots.AddBackTo(&ctx);
  return ORSet::FromParts(std::move(store), std::move(ctx));
}

// ---- MVRegister ----
// One value per dot, in dot order.
void WriteState(const MVRegister& v, v1::Crdt* msg) {
  v1::MVRegisterState* m = msg->mutable_mv_register();
  const ReplicaTableBuilder table(v.context());
  HeldCloudDots held(v.context());
  const int n = static_cast<int>(v.store().size());
  m->mutable_values()->Reserve(n);
  m->mutable_dot_replica()->Reserve(n);
  m->mutable_dot_counter()->Reserve(n);
  for (const auto& e : v.store()) {
    m->add_values(e.value.bytes().data(), e.value.bytes().size());
    WriteDot(e.dot, table, m->mutable_dot_replica(), m->mutable_dot_counter());
    held.Collect(e.dot);
  }
  WriteTableAndContext(v.context(), &held, table, m);
}

Result<MVRegister> ReadState(v1::Crdt* msg, std::type_identity<MVRegister>) {
  static constexpr char kType[] = "MVRegister";
  v1::MVRegisterState* m = msg->mutable_mv_register();
  ReplicaTableReader table;
  CausalContext ctx;  // as on the wire: without the store's dots
  if (Status s = ReadTableAndContext(*m, &table, &ctx); !s.ok()) return Corruption(kType, s);
  StoreDotReader dots(&table, &ctx);
  Result<MVRegister::Store> store =
      ReadValueDots(m->mutable_values(), View(m->dot_replica()), View(m->dot_counter()), &dots);
  if (!store.ok()) return Corruption(kType, store.status());
  if (Status s = table.CheckAllUsed(); !s.ok()) return Corruption(kType, s);
  dots.AddBackTo(&ctx);
  return MVRegister::FromParts(std::move(store).value(), std::move(ctx));
}

}  // namespace convergent::internal
