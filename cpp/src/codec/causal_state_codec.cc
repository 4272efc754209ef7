// The states with a causal context: ORSet and MVRegister. Both list their replicas once (the
// replica table, ascending) and name dots by table index; their context's cloud leaves out the
// dots their store holds (see context_codec.h).
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/canonical_msgpack.h"
#include "codec/context_codec.h"
#include "codec/state_codec.h"

namespace convergent::internal {
namespace {

// Writes the replica table and the context (left out when it encodes to nothing) of an
// ORSetState or MVRegisterState.
template <typename StateMsg>
void WriteTableAndContext(const CausalContext& ctx, HeldCloudDots* held,
                          const ReplicaTableBuilder& table, StateMsg* m) {
  table.WriteTo(m->mutable_replicas());
  const std::vector<Dot>& held_dots = held->Finish();
  if (!ctx.version_vector().empty() || ctx.dot_cloud().size() > held_dots.size()) {
    EncodeContext(ctx, held_dots, table, m->mutable_context());
  }
}

// Reads the replica table and the context of an ORSetState or MVRegisterState.
template <typename StateMsg>
Status ReadTableAndContext(const char* type, const StateMsg& m, ReplicaTableReader* table,
                           CausalContext* ctx) {
  Result<ReplicaTableReader> t = ReplicaTableReader::Read(m.replicas());
  if (!t.ok()) return Corruption(type, t.status());
  *table = std::move(t).value();
  Result<CausalContext> c = DecodeContext(m.context(), table);
  if (!c.ok()) return Corruption(type, c.status());
  *ctx = std::move(c).value();
  return Status::Ok();
}

// An ORSet's elements and dots, copied out of its store in one pass and sorted by element bytes.
// The store is a hash map whose nodes are scattered in memory, so each visit is a cache miss:
// visiting them once, in whatever order, and sorting compact records instead of pointers into
// the nodes halves the cost for large sets. A record keeps the first 8 bytes of its element (big-endian,
// zero-padded: comparing them agrees with comparing the bytes), so most comparisons are one
// integer comparison.
class SortedElements {
 public:
  struct Element {  // 32-bit offsets and sizes: an encoding is below protobuf's 2 GiB limit
    uint64_t prefix;
    uint32_t bytes_at, bytes_size;  // in bytes_
    uint32_t dots_at, dots_size;    // in dots_
  };

  SortedElements(const ORSet::Store& store, HeldCloudDots* held) {
    elements_.reserve(store.size());
    dots_.reserve(store.size());
    bytes_.reserve(store.size() * 8);
    for (const auto& [value, dots] : store.entries()) {
      const std::string& b = value.bytes();
      uint64_t prefix = 0;
      for (size_t i = 0; i < 8; ++i) {
        prefix = (prefix << 8) | (i < b.size() ? static_cast<unsigned char>(b[i]) : 0u);
      }
      elements_.push_back(
          Element{prefix, static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(b.size()),
                  static_cast<uint32_t>(dots_.size()), static_cast<uint32_t>(dots.size())});
      bytes_.append(b);
      for (const auto& e : dots) {
        dots_.push_back(e.dot);
        held->Collect(e.dot);
      }
    }
    std::sort(elements_.begin(), elements_.end(), [this](const Element& x, const Element& y) {
      if (x.prefix != y.prefix) return x.prefix < y.prefix;
      return BytesOf(x) < BytesOf(y);
    });
  }

  const std::vector<Element>& elements() const { return elements_; }
  size_t dot_count() const { return dots_.size(); }
  std::string_view BytesOf(const Element& e) const {
    return std::string_view(bytes_.data() + e.bytes_at, e.bytes_size);
  }
  const Dot& DotOf(const Element& e, uint32_t i) const { return dots_[e.dots_at + i]; }

 private:
  std::vector<Element> elements_;
  std::string bytes_;
  std::vector<Dot> dots_;
};

}  // namespace

// ---- ORSet ----
// Elements ascending; their dots element by element, each element's dots ascending; dot_count
// only when some element has more than one dot.
void WriteState(const ORSet& v, v1::Crdt* msg) {
  v1::ORSetState* m = msg->mutable_or_set();
  ReplicaTableBuilder table;
  table.AddContext(v.context());  // every store dot is in the context: so is its replica
  table.Seal();
  HeldCloudDots held(v.context());
  const SortedElements sorted(v.store(), &held);
  WriteTableAndContext(v.context(), &held, table, m);

  const auto& elements = sorted.elements();
  m->mutable_elements()->Reserve(static_cast<int>(elements.size()));
  bool one_dot_each = true;
  for (const auto& e : elements) {
    const std::string_view bytes = sorted.BytesOf(e);
    m->add_elements(bytes.data(), bytes.size());
    one_dot_each = one_dot_each && e.dots_size == 1;
  }
  if (!one_dot_each) {
    m->mutable_dot_count()->Reserve(static_cast<int>(elements.size()));
    for (const auto& e : elements) m->add_dot_count(e.dots_size);
  }
  m->mutable_dot_replica()->Reserve(static_cast<int>(sorted.dot_count()));
  m->mutable_dot_counter()->Reserve(static_cast<int>(sorted.dot_count()));
  for (const auto& e : elements) {
    for (uint32_t i = 0; i < e.dots_size; ++i) {
      const Dot& d = sorted.DotOf(e, i);
      m->add_dot_replica(table.IndexOf(d.replica));
      m->add_dot_counter(d.counter);
    }
  }
}

Result<ORSet> ReadState(v1::Crdt* msg, std::type_identity<ORSet>) {
  static constexpr char kType[] = "ORSet";
  v1::ORSetState* m = msg->mutable_or_set();
  ReplicaTableReader table;
  CausalContext ctx;  // as on the wire: without the store's dots
  if (Status s = ReadTableAndContext(kType, *m, &table, &ctx); !s.ok()) return s;

  const int n = m->elements_size();
  const int dots = m->dot_replica_size();
  if (dots != m->dot_counter_size()) {
    return Corruption(kType, "dot_replica and dot_counter differ in length");
  }
  if (m->dot_count_size() == 0) {
    if (dots != n) return Corruption(kType, "not one dot per element, and no dot_count");
  } else {
    if (m->dot_count_size() != n) return Corruption(kType, "dot_count and elements differ");
    uint64_t sum = 0;
    bool all_one = true;
    for (uint32_t c : m->dot_count()) {
      if (c == 0) return Corruption(kType, "an element with 0 dots");
      sum += c;
      all_one = all_one && c == 1;
    }
    if (all_one) return Corruption(kType, "dot_count present while every element has one dot");
    if (sum != static_cast<uint64_t>(dots)) {
      return Corruption(kType, "dot_count does not add up to the number of dots");
    }
  }
  std::string scratch;
  for (int i = 0; i < n; ++i) {
    if (i > 0 && !(m->elements(i - 1) < m->elements(i))) {
      return Corruption(kType, "elements not strictly ascending");
    }
    if (!IsCanonicalMsgpack(m->elements(i), &scratch)) {
      return Corruption(kType, "an element not canonical msgpack");
    }
  }

  ORSet::Store store;
  std::vector<Dot> add_back;  // store dots beyond the wire context's vector and cloud
  int next = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t count = m->dot_count_size() == 0 ? 1 : m->dot_count(i);
    DotSet element_dots;
    Dot prev;
    for (uint32_t k = 0; k < count; ++k, ++next) {
      Dot d;
      if (Status s = table.DotAt(m->dot_replica(next), m->dot_counter(next), &d); !s.ok()) {
        return Corruption(kType, s);
      }
      if (k > 0 && !(prev < d)) return Corruption(kType, "an element's dots not ascending");
      if (Status s = CheckStoreDot(ctx, d, &add_back); !s.ok()) return Corruption(kType, s);
      element_dots.Insert(d);
      prev = d;
    }
    if (!store.InsertDecoded(Value::FromCanonical(std::move(*m->mutable_elements(i))),
                             std::move(element_dots))) {
      return Corruption(kType, "an element twice");
    }
  }
  if (Status s = table.CheckAllUsed(); !s.ok()) return Corruption(kType, s);
  for (const Dot& d : add_back) ctx.Insert(d);
  return ORSet::FromParts(std::move(store), std::move(ctx));
}

// ---- MVRegister ----
// One value per dot, in dot order.
void WriteState(const MVRegister& v, v1::Crdt* msg) {
  v1::MVRegisterState* m = msg->mutable_mv_register();
  ReplicaTableBuilder table;
  table.AddContext(v.context());  // every store dot is in the context: so is its replica
  table.Seal();
  HeldCloudDots held(v.context());
  for (const auto& e : v.store()) held.Collect(e.dot);
  WriteTableAndContext(v.context(), &held, table, m);
  const int n = static_cast<int>(v.store().size());
  m->mutable_values()->Reserve(n);
  m->mutable_dot_replica()->Reserve(n);
  m->mutable_dot_counter()->Reserve(n);
  for (const auto& e : v.store()) {
    m->add_values(e.value.bytes());
    m->add_dot_replica(table.IndexOf(e.dot.replica));
    m->add_dot_counter(e.dot.counter);
  }
}

Result<MVRegister> ReadState(v1::Crdt* msg, std::type_identity<MVRegister>) {
  static constexpr char kType[] = "MVRegister";
  v1::MVRegisterState* m = msg->mutable_mv_register();
  ReplicaTableReader table;
  CausalContext ctx;  // as on the wire: without the store's dots
  if (Status s = ReadTableAndContext(kType, *m, &table, &ctx); !s.ok()) return s;

  const int n = m->values_size();
  if (m->dot_replica_size() != n || m->dot_counter_size() != n) {
    return Corruption(kType, "values, dot_replica and dot_counter differ in length");
  }
  MVRegister::Store store;
  std::vector<Dot> add_back;
  std::string scratch;
  Dot prev;
  for (int i = 0; i < n; ++i) {
    Dot d;
    if (Status s = table.DotAt(m->dot_replica(i), m->dot_counter(i), &d); !s.ok()) {
      return Corruption(kType, s);
    }
    if (i > 0 && !(prev < d)) return Corruption(kType, "dots not strictly ascending");
    if (!IsCanonicalMsgpack(m->values(i), &scratch)) {
      return Corruption(kType, "a value not canonical msgpack");
    }
    if (Status s = CheckStoreDot(ctx, d, &add_back); !s.ok()) return Corruption(kType, s);
    store.Insert(d, Value::FromCanonical(std::move(*m->mutable_values(i))));
    prev = d;
  }
  if (Status s = table.CheckAllUsed(); !s.ok()) return Corruption(kType, s);
  for (const Dot& d : add_back) ctx.Insert(d);
  return MVRegister::FromParts(std::move(store), std::move(ctx));
}

}  // namespace convergent::internal
