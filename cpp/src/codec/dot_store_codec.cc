#include "codec/dot_store_codec.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "codec/canonical_msgpack.h"
#include "codec/orset_wire.h"

namespace convergent::internal {
namespace {

// A set store's elements and dots, copied out of the store in one pass and sorted by element
// bytes. The store is a hash map whose nodes are scattered in memory, so each visit is a cache
// miss: visiting them once, in whatever order, and sorting compact records instead of pointers
// into the nodes halves the cost for large sets. A record keeps the first 8 bytes of its element
// (big-endian, zero-padded: comparing them agrees with comparing the bytes), so most comparisons
// are one integer comparison.
class SortedElements {
 public:
  struct Element {  // 32-bit offsets and sizes: an encoding is below protobuf's 2 GiB limit
    uint64_t prefix;
    uint32_t bytes_at, bytes_size;  // in bytes_
    uint32_t dots_at, dots_size;    // in dots_
  };

  // The element bytes are copied into *bytes, which must outlive the views BytesOf gives.
  SortedElements(const SetDotStore& store, HeldCloudDots* held, std::string* bytes)
      : bytes_(*bytes) {
    elements_.reserve(store.size());
    dots_.reserve(store.size());
    bytes_.reserve(store.size() * 8);
    for (const auto& [value, dots] : store.entries()) {
      const std::string_view b = value.bytes();
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
    SortByPrefix();
    // Equal prefixes (elements sharing their first 8 bytes) are ordered by their whole bytes.
    for (auto run = elements_.begin(); run != elements_.end();) {
      auto end = run + 1;
      while (end != elements_.end() && end->prefix == run->prefix) ++end;
      if (end - run > 1) {
        std::sort(run, end,
                  [this](const Element& x, const Element& y) { return BytesOf(x) < BytesOf(y); });
      }
      run = end;
    }
  }

  const auto& elements() const { return elements_; }
  size_t dot_count() const { return dots_.size(); }
  std::string_view BytesOf(const Element& e) const {
    return std::string_view(bytes_.data() + e.bytes_at, e.bytes_size);
  }
  const Dot& DotOf(const Element& e, uint32_t i) const { return dots_[e.dots_at + i]; }

 private:
  // An LSD radix sort on the prefixes, a byte at a time; the bytes in which every prefix agrees
  // (most of them, for elements of one shape) cost one histogram pass, not a scatter pass. For
  // large sets it takes a fraction of a comparison sort's time.
  void SortByPrefix() {
    if (elements_.size() < 64) {
      std::sort(elements_.begin(), elements_.end(),
                [](const Element& x, const Element& y) { return x.prefix < y.prefix; });
      return;
    }
    std::array<std::array<uint32_t, 256>, 8> counts{};
    for (const Element& e : elements_) {
      for (int b = 0; b < 8; ++b) ++counts[b][(e.prefix >> (8 * b)) & 0xff];
    }
    Elements scratch(elements_.size());
    for (int b = 0; b < 8; ++b) {
      auto& count = counts[b];
      if (count[(elements_.front().prefix >> (8 * b)) & 0xff] == elements_.size()) continue;
      uint32_t at = 0;
      for (uint32_t& c : count) at += std::exchange(c, at);  // counts -> starting offsets
      for (const Element& e : elements_) scratch[count[(e.prefix >> (8 * b)) & 0xff]++] = e;
      elements_.swap(scratch);
    }
  }

  // Inline room for one element: a one-element store (an add's delta) allocates nothing here.
  using Elements = boost::container::small_vector<Element, 1>;
  Elements elements_;
  std::string& bytes_;
  boost::container::small_vector<Dot, 1> dots_;
};

}  // namespace

void SetStoreToParts(const SetDotStore& store, const ReplicaTableBuilder& table,
                     HeldCloudDots* held, std::string* bytes, SetStoreParts* out) {
  const SortedElements sorted(store, held, bytes);
  const auto& elements = sorted.elements();
  out->elements.reserve(elements.size());
  bool one_dot_each = true;
  for (const auto& e : elements) {
    out->elements.push_back(sorted.BytesOf(e));
    one_dot_each = one_dot_each && e.dots_size == 1;
  }
  if (!one_dot_each) {
    out->dot_count.reserve(elements.size());
    for (const auto& e : elements) out->dot_count.push_back(e.dots_size);
  }
  out->dot_replica.reserve(sorted.dot_count());
  out->dot_counter.reserve(sorted.dot_count());
  for (const auto& e : elements) {
    for (uint32_t i = 0; i < e.dots_size; ++i) {
      const Dot& d = sorted.DotOf(e, i);
      out->dot_replica.push_back(table.IndexOf(d.replica));
      out->dot_counter.push_back(d.counter);
    }
  }
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
