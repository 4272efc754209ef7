#include "codec/dot_store_codec.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include "codec/canonical_msgpack.h"
#include "codec/orset_wire.h"
#include "codec/wire_format.h"

namespace convergent::internal {
namespace {

// The first 8 bytes of b from `from` on, big-endian and zero-padded.
uint64_t PrefixOf(std::string_view b, size_t from) {
  uint64_t prefix = 0;
  for (size_t i = from; i < from + 8; ++i) {
    prefix = (prefix << 8) | (i < b.size() ? static_cast<unsigned char>(b[i]) : 0u);
  }
  return prefix;
}

}  // namespace

// One pass over the store in memory order gathers the records, the sizes and the bytes every
// element shares at its start (elements of one shape, "user-000123", share most of their first 8
// bytes: the prefix compared is taken past them); the records are then sorted in place.
SortedSetStore::SortedSetStore(const SetDotStore& store, const ReplicaTableBuilder& table,
                               HeldCloudDots* held)
    : store_(store) {
  records_.reserve(store.size());
  std::string_view first;
  size_t shared = SIZE_MAX;
  store.ForEachAt([&](uint32_t position, const Value& element, const DotSet& dots) {
    const std::string_view b = element.bytes();
    if (records_.empty()) first = b;
    size_t common = 0;
    const size_t most = std::min({shared, first.size(), b.size()});
    while (common < most && first[common] == b[common]) ++common;
    shared = common;
    records_.push_back(Record{0, 0, position});
    elements_payload_ += wire::VarintSize(b.size()) + b.size();
    dot_count_payload_ += wire::VarintSize(dots.size());
    one_dot_each_ = one_dot_each_ && dots.size() == 1;
    for (const auto& e : dots) {
      dot_replica_payload_ += wire::VarintSize(table.IndexOf(e.dot.replica));
      dot_counter_payload_ += wire::VarintSize(e.dot.counter);
      held->Collect(e.dot);
    }
  });
  if (one_dot_each_) dot_count_payload_ = 0;
  if (records_.size() > 1) Sort(shared);
}

void SortedSetStore::Sort(size_t shared) {
  for (Record& r : records_) {  // in memory order still
    const uint64_t prefix = PrefixOf(store_.At(r.position).first.bytes(), shared);
    r.prefix_high = static_cast<uint32_t>(prefix >> 32);
    r.prefix_low = static_cast<uint32_t>(prefix);
  }
  std::sort(records_.begin(), records_.end(), [this](const Record& x, const Record& y) {
    if (x.prefix_high != y.prefix_high) return x.prefix_high < y.prefix_high;
    if (x.prefix_low != y.prefix_low) return x.prefix_low < y.prefix_low;
    return store_.At(x.position).first.bytes() < store_.At(y.position).first.bytes();
  });
}

void SetStoreToParts(const SetDotStore& store, const ReplicaTableBuilder& table,
                     HeldCloudDots* held, SetStoreParts* out) {
  const SortedSetStore sorted(store, table, held);
  out->elements.reserve(sorted.size());
  if (!sorted.one_dot_each()) out->dot_count.reserve(sorted.size());
  sorted.ForEach([&](std::string_view element, const DotSet& dots) {
    out->elements.push_back(element);
    if (!sorted.one_dot_each()) out->dot_count.push_back(static_cast<uint32_t>(dots.size()));
    for (const auto& e : dots) {
      out->dot_replica.push_back(table.IndexOf(e.dot.replica));
      out->dot_counter.push_back(e.dot.counter);
    }
  });
}

Status StoreDotReader::Read(uint32_t replica_index, uint64_t counter, Dot* out) {
  if (Status s = table_->DotAt(replica_index, counter, out); !s.ok()) return s;
  return CheckStoreDot(*wire_ctx_, *out, &add_back_);
}

void StoreDotReader::AddBackTo(CausalContext* ctx) const {
  for (const Dot& d : add_back_) ctx->Insert(d);
}

Result<DotFun<Value>> ReadValueDots(google::protobuf::RepeatedPtrField<std::string>* values,
                                    std::span<const uint32_t> replica,
                                    std::span<const uint64_t> counter, StoreDotReader* dots) {
  if (static_cast<size_t>(values->size()) != replica.size())
    return Status::Corruption("values and dots differ in length");
  DotFun<Value> store;
  std::string scratch;
  Status s = dots->ReadAscending(replica, counter, [&](int i, const Dot& d) {
    if (!IsCanonicalMsgpack(values->Get(i), &scratch)) {
      return Status::Corruption("a value not canonical msgpack");
    }
    store.Insert(d, Value::FromCanonical(std::move(*values->Mutable(i))));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return store;
}

template <typename Source>
Status ReadSetStore(const Source& in, StoreDotReader* dots, SetDotStore* out) {
  const size_t n = in.ElementCount();
  const size_t total = in.DotReplicaSize();
  if (total != in.DotCounterSize()) {
    return Status::Corruption("dot_replica and dot_counter differ in length");
  }
  const bool counted = in.DotCountSize() != 0;
  if (!counted) {
    if (total != n) return Status::Corruption("not one dot per element, and no dot_count");
  } else {
    if (in.DotCountSize() != n) return Status::Corruption("dot_count and elements differ");
    uint64_t sum = 0;
    bool all_one = true;
    auto counts = in.DotCounts();
    for (uint32_t c = 0; counts.Next(&c);) {
      if (c == 0) return Status::Corruption("an element with 0 dots");
      sum += c;
      all_one = all_one && c == 1;
    }
    if (all_one) {
      return Status::Corruption("dot_count present while every element has one dot");
    }
    if (sum != static_cast<uint64_t>(total)) {
      return Status::Corruption("dot_count does not add up to the number of dots");
    }
  }
  out->Reserve(n);  // n is bounded by the input: each element has bytes of its own
  auto elements = in.Elements();
  auto counts = in.DotCounts();
  auto replicas = in.DotReplicas();
  auto counters = in.DotCounters();
  std::string scratch;
  std::string_view prev_element;
  for (size_t i = 0; i < n; ++i) {
    std::string_view element;
    uint32_t count = 1;
    if (!elements.Next(&element) || (counted && !counts.Next(&count))) {
      return Status::Corruption("a set store shorter than it said");  // not from valid input
    }
    if (i > 0 && !(prev_element < element)) {
      return Status::Corruption("elements not strictly ascending");
    }
    if (!IsCanonicalMsgpack(element, &scratch)) {
      return Status::Corruption("an element not canonical msgpack");
    }
    prev_element = element;
    DotSet element_dots;
    Dot prev;
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t replica = 0;
      uint64_t counter = 0;
      if (!replicas.Next(&replica) || !counters.Next(&counter)) {
        return Status::Corruption("a set store shorter than it said");
      }
      Dot d;
      if (Status s = dots->Read(replica, counter, &d); !s.ok()) return s;
      if (k > 0 && !(prev < d)) return Status::Corruption("an element's dots not ascending");
      element_dots.Insert(d);
      prev = d;
    }
    if (!out->InsertDecoded(Value::FromCanonical(element), std::move(element_dots))) {
      return Status::Corruption("an element twice");
    }
  }
  return Status::Ok();
}

template Status ReadSetStore(const SetStoreView&, StoreDotReader*, SetDotStore*);
template Status ReadSetStore(const SetStoreFields&, StoreDotReader*, SetDotStore*);

}  // namespace convergent::internal
