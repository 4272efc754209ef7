// The encoding of dot stores, internal to the codec and shared by the causal states (ORSet,
// MVRegister, the parts of ORMap): dots as two parallel arrays (replica index, counter), and the
// set store (element -> dots) as ascending elements, a dot_count per element only when some
// element has several dots, and the dots element by element, each element's ascending.
//
// Decoding checks every dot (index in range, counter > 0, consistent with the wire context: see
// CheckStoreDot in context_codec.h) and remembers the dots to add back to the context.
//
// Thread safety: plain values, one per encode or decode call.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/context_codec.h"
#include "convergent/crdt/causal_context.h"
#include "convergent/crdt/dot_fun.h"
#include "convergent/crdt/dot_map.h"
#include "convergent/ids.h"
#include "convergent/status.h"
#include "convergent/value.h"

namespace convergent::internal {

using SetDotStore = DotMap<Value, DotSet>;  // ORSet::Store, and an ORMap set part

// ---- Encoding ----

inline void WriteDot(const Dot& d, const ReplicaTableBuilder& table,
                     google::protobuf::RepeatedField<uint32_t>* replica,
                     google::protobuf::RepeatedField<uint64_t>* counter) {
  replica->Add(table.IndexOf(d.replica));
  counter->Add(d.counter);
}

// The arrays of a set store (ORSetState's, SetPart's): elements ascending, a dot count per
// element only when some element has several dots, the dots element by element.
struct SetStoreParts {
  boost::container::small_vector<std::string_view, 1> elements;
  boost::container::small_vector<uint32_t, 1> dot_count;
  boost::container::small_vector<uint32_t, 1> dot_replica;
  boost::container::small_vector<uint64_t, 1> dot_counter;

  void clear() {
    elements.clear();
    dot_count.clear();
    dot_replica.clear();
    dot_counter.clear();
  }
  friend bool operator==(const SetStoreParts&, const SetStoreParts&) = default;
};

// A set store's entries in element order, as 12-byte records (an entry's position in the store
// and 8 bytes of its element past the bytes every element shares, compared first) rather than
// copies of its elements and dots: what a large key's full state costs to encode besides its
// bytes is about 0.4x them. Also the sizes the store's fields encode to, and, at construction,
// every dot given to held->Collect. The store must not change while this lives.
class SortedSetStore {
 public:
  SortedSetStore(const SetDotStore& store, const ReplicaTableBuilder& table, HeldCloudDots* held);

  size_t size() const { return records_.size(); }
  // Whether every element has one dot (the dot counts are then left out).
  bool one_dot_each() const { return one_dot_each_; }
  // Payload sizes: the elements' (each one's length varint and bytes, without tags), the packed
  // dot counts' (0 when one_dot_each), the packed dot replicas' and counters'.
  size_t elements_payload() const { return elements_payload_; }
  size_t dot_count_payload() const { return dot_count_payload_; }
  size_t dot_replica_payload() const { return dot_replica_payload_; }
  size_t dot_counter_payload() const { return dot_counter_payload_; }
  // Calls fn(element bytes, dots) for each entry, elements ascending.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Record& r : records_) {
      const auto [element, dots] = store_.At(r.position);
      fn(element.bytes(), dots);
    }
  }

 private:
  struct Record {
    uint32_t prefix_high, prefix_low;  // big-endian, zero-padded: ordered as the bytes are
    uint32_t position;
  };
  void Sort(size_t shared);

  const SetDotStore& store_;
  boost::container::small_vector<Record, 1> records_;  // a delta's one element: no allocation
  bool one_dot_each_ = true;
  size_t elements_payload_ = 0, dot_count_payload_ = 0, dot_replica_payload_ = 0,
         dot_counter_payload_ = 0;
};

// The arrays of a set store; gives its dots to held->Collect. The element views point into the
// store, which must outlive *out unchanged.
void SetStoreToParts(const SetDotStore& store, const ReplicaTableBuilder& table,
                     HeldCloudDots* held, SetStoreParts* out);

// ---- Decoding ----

// Reads the dots of one state's store, checking each, and keeps those the wire context does not
// contain yet to add them back.
class StoreDotReader {
 public:
  StoreDotReader(ReplicaTableReader* table, const CausalContext* wire_ctx)
      : table_(table), wire_ctx_(wire_ctx) {}

  Status Read(uint32_t replica_index, uint64_t counter, Dot* out);
  // Reads parallel arrays of dots, strictly ascending, calling fn(i, dot) -> Status for each.
  template <typename Fn>
  Status ReadAscending(std::span<const uint32_t> replica, std::span<const uint64_t> counter,
                       Fn&& fn) {
    if (replica.size() != counter.size()) {
      return Status::Corruption("dot replicas and counters differ in length");
    }
    Dot prev;
    for (int i = 0; i < static_cast<int>(replica.size()); ++i) {
      Dot d;
      if (Status s = Read(replica[i], counter[i], &d); !s.ok()) return s;
      if (i > 0 && !(prev < d)) return Status::Corruption("dots not strictly ascending");
      if (Status s = fn(i, d); !s.ok()) return s;
      prev = d;
    }
    return Status::Ok();
  }
  // Adds the store's dots that the wire context lacked to ctx (the wire context, once every dot
  // of the store was read).
  void AddBackTo(CausalContext* ctx) const;

 private:
  ReplicaTableReader* table_;
  const CausalContext* wire_ctx_;
  AddBackDots add_back_;
};

// A value per dot (MVRegister's store, an ORMap multi-value part): dots ascending, values
// canonical msgpack (moved out of *values).
Result<DotFun<Value>> ReadValueDots(google::protobuf::RepeatedPtrField<std::string>* values,
                                    std::span<const uint32_t> replica,
                                    std::span<const uint64_t> counter, StoreDotReader* dots);

// A span read front to back: the cursor of SetStoreView's fields.
template <typename T>
class SpanCursor {
 public:
  explicit SpanCursor(std::span<const T> s) : s_(s) {}
  bool Next(T* out) {
    if (i_ == s_.size()) return false;
    *out = s_[i_++];
    return true;
  }

 private:
  std::span<const T> s_;
  size_t i_ = 0;
};

// The arrays a set store is read from, as views.
struct SetStoreView {
  std::span<const std::string_view> elements;
  std::span<const uint32_t> dot_count;
  std::span<const uint32_t> dot_replica;
  std::span<const uint64_t> dot_counter;

  static SetStoreView Of(const SetStoreParts& p) {
    return {{p.elements.data(), p.elements.size()},
            {p.dot_count.data(), p.dot_count.size()},
            {p.dot_replica.data(), p.dot_replica.size()},
            {p.dot_counter.data(), p.dot_counter.size()}};
  }

  // What ReadSetStore reads a source through: each field's size and a cursor over its values.
  size_t ElementCount() const { return elements.size(); }
  size_t DotCountSize() const { return dot_count.size(); }
  size_t DotReplicaSize() const { return dot_replica.size(); }
  size_t DotCounterSize() const { return dot_counter.size(); }
  SpanCursor<std::string_view> Elements() const { return SpanCursor(elements); }
  SpanCursor<uint32_t> DotCounts() const { return SpanCursor(dot_count); }
  SpanCursor<uint32_t> DotReplicas() const { return SpanCursor(dot_replica); }
  SpanCursor<uint64_t> DotCounters() const { return SpanCursor(dot_counter); }
};

// Reads a set store into *out, which must be empty, checking it (elements ascending and
// canonical, dot counts adding up, each element's dots ascending). Source: a SetStoreView, or
// an ORSet's SetStoreFields (orset_wire.h), read where they lie in the encoded bytes.
template <typename Source>
Status ReadSetStore(const Source& in, StoreDotReader* dots, SetDotStore* out);

}  // namespace convergent::internal
