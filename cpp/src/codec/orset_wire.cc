#include "codec/orset_wire.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "codec/envelope_fields.h"
#include "codec/wire_format.h"
#include "convergent/v1/crdt.pb.h"

namespace convergent::internal {
namespace {

// Field numbers (proto/convergent/v1/crdt.proto).
constexpr uint32_t kOrSetField = v1::Crdt::kOrSetFieldNumber;
static_assert(v1::ORSetState::kReplicasFieldNumber == 1 &&
              v1::ORSetState::kContextFieldNumber == 2 &&
              v1::ORSetState::kElementsFieldNumber == 3 &&
              v1::ORSetState::kDotCountFieldNumber == 4 &&
              v1::ORSetState::kDotReplicaFieldNumber == 5 &&
              v1::ORSetState::kDotCounterFieldNumber == 6);
static_assert(v1::CausalContext::kVvReplicaFieldNumber == 1 &&
              v1::CausalContext::kVvCounterFieldNumber == 2 &&
              v1::CausalContext::kCloudReplicaFieldNumber == 3 &&
              v1::CausalContext::kCloudCounterFieldNumber == 4);

template <typename T>
std::span<const T> Span(const auto& v) {
  return std::span<const T>(v.data(), v.size());
}

// ---- Writing ----

struct ContextSizes {
  size_t vv_replica, vv_counter, cloud_replica, cloud_counter;
  size_t Payload() const {
    return wire::PackedSize(1, vv_replica) + wire::PackedSize(2, vv_counter) +
           wire::PackedSize(3, cloud_replica) + wire::PackedSize(4, cloud_counter);
  }
};

ContextSizes SizesOf(const ContextParts& c) {
  return {wire::PackedVarintPayload(Span<uint32_t>(c.vv_replica)),
          wire::PackedVarintPayload(Span<uint64_t>(c.vv_counter)),
          wire::PackedVarintPayload(Span<uint32_t>(c.cloud_replica)),
          wire::PackedVarintPayload(Span<uint64_t>(c.cloud_counter))};
}

// ---- Reading ----

// Reads every field of a message, handing each tag to read_field (false: malformed). A 0 tag is
// malformed.
template <typename ReadField>
bool ReadFields(wire::WireReader* in, ReadField&& read_field) {
  while (!in->AtEnd()) {
    const uint32_t tag = in->Tag();
    if (tag == 0 || !read_field(tag)) return false;
  }
  return true;
}

bool IsVarintOrPacked(uint32_t wire_type) {
  return wire_type == wire::kVarint || wire_type == wire::kLengthDelimited;
}

// A field this reader does not know, or knows with another wire type, is skipped: protobuf
// keeps it among the unknown fields.
bool ReadContextField(wire::WireReader* in, uint32_t tag, ContextParts* c) {
  const uint32_t type = wire::WireFormatLite::GetTagWireType(tag);
  if (!IsVarintOrPacked(type)) return in->SkipField(tag);
  switch (wire::WireFormatLite::GetTagFieldNumber(tag)) {
    case 1:
      return wire::ReadRepeatedVarint<uint32_t>(in, type, &c->vv_replica);
    case 2:
      return wire::ReadRepeatedVarint<uint64_t>(in, type, &c->vv_counter);
    case 3:
      return wire::ReadRepeatedVarint<uint32_t>(in, type, &c->cloud_replica);
    case 4:
      return wire::ReadRepeatedVarint<uint64_t>(in, type, &c->cloud_counter);
    default:
      return in->SkipField(tag);
  }
}

// Notes where a store field starts, at its first occurrence: in the part being read, from `at`.
void NoteStart(SetStoreFields* store, SetStoreFields::Start* start, std::string_view at) {
  if (start->at.empty()) *start = {store->parts.size() - 1, at};
}

// Stops holding the store in arrays once a field has more values than SetStoreFields::kMostHeld.
// True (a step of reading a field that succeeded).
bool StopHoldingPastTheLimit(SetStoreFields* store) {
  if (store->held && std::max({store->element_count, store->dot_count_size, store->dot_replica_size,
                               store->dot_counter_size}) > SetStoreFields::kMostHeld) {
    store->held = false;
    store->values = SetStoreParts{};
  }
  return true;
}

// What ReadRepeatedVarint reads a store field's values into: their count, and the values while
// the store is held in arrays.
template <typename T, typename Vec>
struct StoreValues {
  size_t* count;
  Vec* held;  // null once the store is not held
  void push_back(uint64_t v) {
    ++*count;
    if (held != nullptr) held->push_back(static_cast<T>(v));
  }
};

// Reads one occurrence of a store's repeated varint field: counts its values, keeps them in
// *values while the store is held.
template <typename T, typename Vec>
bool ReadStoreVarints(wire::WireReader* in, uint32_t type, SetStoreFields* store, size_t* count,
                      Vec* values) {
  StoreValues<T, Vec> sink{count, store->held ? values : nullptr};
  return wire::ReadRepeatedVarint<T>(in, type, &sink) && StopHoldingPastTheLimit(store);
}

// Reads one field of the ORSetState part read last; `at` is the field's bytes from its tag on.
// The store's fields are checked and counted, and where they start is noted.
bool ReadORSetField(wire::WireReader* in, uint32_t tag, std::string_view at, ORSetFields* w) {
  const uint32_t type = wire::WireFormatLite::GetTagWireType(tag);
  wire::WireReader sub("");
  SetStoreFields& store = w->store;
  SetStoreParts& values = store.values;
  std::string_view element;
  switch (wire::WireFormatLite::GetTagFieldNumber(tag)) {
    case 1:
      if (type != wire::kFixed64 && type != wire::kLengthDelimited) break;
      return wire::ReadRepeatedFixed64(in, type, &w->replicas);
    case 2:  // the context: several occurrences merge, so their arrays concatenate
      if (type != wire::kLengthDelimited) break;
      return in->SubMessage(&sub) &&
             ReadFields(&sub, [&](uint32_t t) { return ReadContextField(&sub, t, &w->context); });
    case 3:
      if (type != wire::kLengthDelimited) break;
      NoteStart(&store, &store.elements, at);
      ++store.element_count;
      if (!in->Bytes(&element)) return false;
      if (store.held) values.elements.push_back(element);
      return StopHoldingPastTheLimit(&store);
    case 4:
      if (!IsVarintOrPacked(type)) break;
      NoteStart(&store, &store.dot_count, at);
      return ReadStoreVarints<uint32_t>(in, type, &store, &store.dot_count_size, &values.dot_count);
    case 5:
      if (!IsVarintOrPacked(type)) break;
      NoteStart(&store, &store.dot_replica, at);
      return ReadStoreVarints<uint32_t>(in, type, &store, &store.dot_replica_size,
                                        &values.dot_replica);
    case 6:
      if (!IsVarintOrPacked(type)) break;
      NoteStart(&store, &store.dot_counter, at);
      return ReadStoreVarints<uint64_t>(in, type, &store, &store.dot_counter_size,
                                        &values.dot_counter);
    default:
      break;
  }
  return in->SkipField(tag);
}

}  // namespace

namespace {

// The payload sizes of a store's fields (elements: with their tags).
struct StoreSizes {
  size_t elements, dot_count, dot_replica, dot_counter;
  size_t State() const {
    return elements + wire::PackedSize(4, dot_count) + wire::PackedSize(5, dot_replica) +
           wire::PackedSize(6, dot_counter);
  }
};

StoreSizes SizesOf(const SortedSetStore& store) {
  return {store.size() * wire::VarintSize(wire::Tag(3, wire::kLengthDelimited)) +
              store.elements_payload(),
          store.dot_count_payload(), store.dot_replica_payload(), store.dot_counter_payload()};
}

// The envelope's header and the ORSetState's fields before its store (replicas, context).
class EnvelopeHead {
 public:
  EnvelopeHead(std::span<const uint64_t> replicas, const ContextParts& c, const StoreSizes& store)
      : replicas_(replicas),
        c_(c),
        ctx_(SizesOf(c)),
        ctx_payload_(ctx_.Payload()),
        store_(store.State()),
        state_(wire::PackedSize(1, replicas.size() * 8) +
               (ctx_payload_ == 0 ? 0 : wire::LengthDelimitedSize(2, ctx_payload_)) + store_) {}
  size_t total() const { return wire::LengthDelimitedSize(kOrSetField, state_); }
  size_t size() const { return total() - store_; }  // the head's own bytes
  void Write(wire::WireWriter* wr) const {
    wr->LengthDelimitedHeader(kOrSetField, state_);
    wr->PackedFixed64(1, replicas_);
    if (ctx_payload_ != 0) {
      wr->LengthDelimitedHeader(2, ctx_payload_);
      wr->PackedVarints(1, Span<uint32_t>(c_.vv_replica), ctx_.vv_replica);
      wr->PackedVarints(2, Span<uint64_t>(c_.vv_counter), ctx_.vv_counter);
      wr->PackedVarints(3, Span<uint32_t>(c_.cloud_replica), ctx_.cloud_replica);
      wr->PackedVarints(4, Span<uint64_t>(c_.cloud_counter), ctx_.cloud_counter);
    }
  }

 private:
  std::span<const uint64_t> replicas_;
  const ContextParts& c_;
  ContextSizes ctx_;
  size_t ctx_payload_;
  size_t store_;  // the store's bytes
  size_t state_;  // the ORSetState's bytes
};

// The envelope around an ORSetState: its head, then the store's fields, which
// write_store(WireWriter*) writes in exactly `store.State()` bytes.
template <typename WriteStore>
std::string WriteEnvelope(std::span<const uint64_t> replicas, const ContextParts& c,
                          const StoreSizes& store, WriteStore&& write_store) {
  const EnvelopeHead head(replicas, c, store);
  std::string out(head.total(), '\0');
  wire::WireWriter wr(reinterpret_cast<uint8_t*>(out.data()));
  head.Write(&wr);
  write_store(&wr);
  return out;
}

// Bytes written in chunks to a sink, through a WireWriter over the chunk at hand.
class ChunkedWriter {
 public:
  static constexpr size_t kChunk = 64 * 1024;
  explicit ChunkedWriter(const std::function<void(std::string_view)>& sink)
      : sink_(sink), chunk_(new uint8_t[kChunk]), wr_(chunk_.get()) {}
  // A writer with room for n <= kChunk bytes.
  wire::WireWriter* Room(size_t n) {
    if (kChunk - Used() < n) Flush();
    return &wr_;
  }
  void Bytes(uint32_t field, std::string_view b) {
    Room(2 * wire::kMaxVarintBytes)->LengthDelimitedHeader(field, b.size());
    if (b.size() > kChunk - Used()) {
      Flush();
      if (b.size() > kChunk) return sink_(b);
    }
    std::memcpy(wr_.position(), b.data(), b.size());
    wr_ = wire::WireWriter(wr_.position() + b.size());
  }
  void Flush() {
    if (Used() != 0) sink_(std::string_view(reinterpret_cast<const char*>(chunk_.get()), Used()));
    wr_ = wire::WireWriter(chunk_.get());
  }

 private:
  size_t Used() const { return static_cast<size_t>(wr_.position() - chunk_.get()); }
  const std::function<void(std::string_view)>& sink_;
  std::unique_ptr<uint8_t[]> chunk_;
  wire::WireWriter wr_;
};

}  // namespace

std::string WriteORSetDotEnvelope(const ORSetDot& d) {
  const std::string_view e = d.element;
  const size_t payload = 8 + wire::VarintSize(d.dot.counter - 1) + e.size();
  std::string out(wire::LengthDelimitedSize(kORSetDotField, payload), '\0');
  wire::WireWriter wr(reinterpret_cast<uint8_t*>(out.data()));
  wr.LengthDelimitedHeader(kORSetDotField, payload);
  uint8_t* at = wr.position();
  for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(d.dot.replica.value >> (8 * i));
  wr = wire::WireWriter(at + 8);
  wr.Varint(d.dot.counter - 1);
  std::memcpy(wr.position(), e.data(), e.size());
  return out;
}

Result<ORSetDot> ReadORSetDot(std::string_view bytes) {
  wire::WireReader in(bytes);
  ORSetDot d;
  uint64_t counter_minus_1 = 0;
  if (!in.Fixed64(&d.dot.replica.value) || !in.Varint(&counter_minus_1)) {
    return Status::Corruption("ORSet: a one-dot form shorter than its dot");
  }
  if (counter_minus_1 == UINT64_MAX) return Status::Corruption("ORSet: a dot counter past 2^64");
  d.dot.counter = counter_minus_1 + 1;
  d.element = in.rest();
  return d;
}

std::string WriteORSetEnvelope(const ORSetWire& w) {
  const SetStoreParts& p = w.store;
  size_t elements = 0;
  for (std::string_view e : p.elements) elements += wire::LengthDelimitedSize(3, e.size());
  const StoreSizes sizes{elements, wire::PackedVarintPayload(Span<uint32_t>(p.dot_count)),
                         wire::PackedVarintPayload(Span<uint32_t>(p.dot_replica)),
                         wire::PackedVarintPayload(Span<uint64_t>(p.dot_counter))};
  return WriteEnvelope(Span<uint64_t>(w.replicas), w.context, sizes, [&](wire::WireWriter* wr) {
    for (std::string_view e : p.elements) wr->Bytes(3, e);
    wr->PackedVarints(4, Span<uint32_t>(p.dot_count), sizes.dot_count);
    wr->PackedVarints(5, Span<uint32_t>(p.dot_replica), sizes.dot_replica);
    wr->PackedVarints(6, Span<uint64_t>(p.dot_counter), sizes.dot_counter);
  });
}

// The four store fields are written in one pass over the sorted entries, each from where it
// starts (its size is known beforehand).
std::string WriteORSetEnvelope(std::span<const uint64_t> replicas, const ContextParts& context,
                               const SortedSetStore& store, const ReplicaTableBuilder& table) {
  const StoreSizes sizes = SizesOf(store);
  return WriteEnvelope(replicas, context, sizes, [&](wire::WireWriter* wr) {
    uint8_t* at = wr->position();
    wire::WireWriter elements(at);
    at += sizes.elements;
    wire::WireWriter counts(at);
    if (sizes.dot_count != 0) counts.LengthDelimitedHeader(4, sizes.dot_count);
    at += wire::PackedSize(4, sizes.dot_count);
    wire::WireWriter replica(at);
    if (sizes.dot_replica != 0) replica.LengthDelimitedHeader(5, sizes.dot_replica);
    at += wire::PackedSize(5, sizes.dot_replica);
    wire::WireWriter counter(at);
    if (sizes.dot_counter != 0) counter.LengthDelimitedHeader(6, sizes.dot_counter);
    store.ForEach([&](std::string_view element, const DotSet& dots) {
      elements.Bytes(3, element);
      if (sizes.dot_count != 0) counts.Varint(dots.size());
      for (const auto& e : dots) {
        replica.Varint(table.IndexOf(e.dot.replica));
        counter.Varint(e.dot.counter);
      }
    });
  });
}

// Field after field, each in a pass over the sorted entries.
void WriteORSetEnvelopeTo(std::span<const uint64_t> replicas, const ContextParts& context,
                          const SortedSetStore& store, const ReplicaTableBuilder& table,
                          const std::function<void(std::string_view)>& sink) {
  const StoreSizes sizes = SizesOf(store);
  const EnvelopeHead head(replicas, context, sizes);
  ChunkedWriter out(sink);
  {
    std::string bytes(head.size(), '\0');
    wire::WireWriter wr(reinterpret_cast<uint8_t*>(bytes.data()));
    head.Write(&wr);
    sink(bytes);
  }
  store.ForEach([&](std::string_view element, const DotSet&) { out.Bytes(3, element); });
  constexpr size_t kVarint = wire::kMaxVarintBytes;
  if (sizes.dot_count != 0) {
    out.Room(2 * kVarint)->LengthDelimitedHeader(4, sizes.dot_count);
    store.ForEach(
        [&](std::string_view, const DotSet& dots) { out.Room(kVarint)->Varint(dots.size()); });
  }
  if (sizes.dot_replica != 0) {
    out.Room(2 * kVarint)->LengthDelimitedHeader(5, sizes.dot_replica);
    store.ForEach([&](std::string_view, const DotSet& dots) {
      for (const auto& e : dots) out.Room(kVarint)->Varint(table.IndexOf(e.dot.replica));
    });
  }
  if (sizes.dot_counter != 0) {
    out.Room(2 * kVarint)->LengthDelimitedHeader(6, sizes.dot_counter);
    store.ForEach([&](std::string_view, const DotSet& dots) {
      for (const auto& e : dots) out.Room(kVarint)->Varint(e.dot.counter);
    });
  }
  out.Flush();
}

SetStoreParts SetStoreFields::Collect() const {
  SetStoreParts p;
  auto elements = Elements();
  for (std::string_view e; elements.Next(&e);) p.elements.push_back(e);
  auto counts = DotCounts();
  for (uint32_t v = 0; counts.Next(&v);) p.dot_count.push_back(v);
  auto replicas = DotReplicas();
  for (uint32_t v = 0; replicas.Next(&v);) p.dot_replica.push_back(v);
  auto counters = DotCounters();
  for (uint64_t v = 0; counters.Next(&v);) p.dot_counter.push_back(v);
  return p;
}

Result<uint32_t> ParseORSetEnvelope(std::string_view bytes, ORSetFields* out) {
  // The ORSet fields since the oneof last switched to it (several merge, as in protobuf), read
  // once the envelope is: a later field of another state would drop them unchecked.
  boost::container::small_vector<wire::WireReader, 1> parts;
  // A state message came before the last state field, which this reader drops unread: protobuf
  // parses it all the same, and rejects the envelope when it is malformed.
  bool unchecked = false;
  Result<uint32_t> state = ReadEnvelope(bytes, [&](uint32_t field, wire::WireReader* in) {
    if (field == kOrSetField) {
      parts.push_back(*in);
    } else {
      if (field == kORSetDotField) {
        out->dot_form = in->rest();  // bytes: protobuf takes any, the last occurrence wins
        unchecked = unchecked || !parts.empty();
      } else {
        unchecked = true;
      }
      parts.clear();
    }
    return true;
  });
  if (!state.ok()) return state;
  if (state.value() == kORSetDotField) {
    state = kOrSetField;
  } else {
    out->dot_form.reset();
    if (state.value() != kOrSetField) return state;
  }
  for (wire::WireReader& in : parts) {
    out->store.parts.push_back(in.rest());
    while (!in.AtEnd()) {
      const std::string_view at = in.rest();
      const uint32_t tag = in.Tag();
      if (tag == 0 || !ReadORSetField(&in, tag, at, out)) {
        return Status::Corruption("ORSet: malformed protobuf");
      }
    }
  }
  // (Rare: an encoder writes one state.)
  if (unchecked) {
    v1::Crdt msg;
    if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return Status::Corruption("state: malformed protobuf");
    }
  }
  return state;
}

}  // namespace convergent::internal
