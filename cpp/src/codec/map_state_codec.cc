// The maps: ORMap, and the typed maps over it (LWWMap, PNCounterMap, ORMultiMap), all encoded as
// an ORMapState: the replica table, the context (its cloud without the dots the entries hold),
// and the entries ascending by key bytes, each with its parts ascending by type, none empty.
// Each part's store is written in the field for its type: counters (GCounter, PNCounter) as a
// (increments, decrements) pair per dot, LWW registers as a (timestamp, value) per dot whose
// replica is the writer, MV registers as a value per dot, sets (ORSet, GSet) as a set store,
// flags as their dots. Dots of a part are ascending.
#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "codec/canonical_msgpack.h"
#include "codec/context_codec.h"
#include "codec/dot_store_codec.h"
#include "codec/state_codec.h"

namespace convergent::internal {
namespace {

// ---- Encoding ----

template <typename T>
void WriteDots(const DotFun<T>& s, const ReplicaTableBuilder& table, HeldCloudDots* held,
               v1::DotList* out) {
  out->mutable_replica()->Reserve(static_cast<int>(s.size()));
  out->mutable_counter()->Reserve(static_cast<int>(s.size()));
  for (const auto& e : s) {
    WriteDot(e.dot, table, out->mutable_replica(), out->mutable_counter());
    held->Collect(e.dot);
  }
}

void WritePart(const MapEntry::Part& part, const ReplicaTableBuilder& table, HeldCloudDots* held,
               v1::MapPart* m) {
  m->set_type(static_cast<uint32_t>(part.type));
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, CounterStore>) {
          v1::CounterPart* c = m->mutable_counter();
          WriteDots(s, table, held, c->mutable_dots());
          for (const auto& e : s) {
            c->add_increments(e.value.increments);
            c->add_decrements(e.value.decrements);
          }
        } else if constexpr (std::is_same_v<S, RegisterStore>) {
          v1::RegisterPart* r = m->mutable_lww_register();
          WriteDots(s, table, held, r->mutable_dots());
          bool moved = false;
          for (const auto& e : s) {
            moved = moved || e.value.replica != e.dot.replica;
            r->add_timestamps(e.value.timestamp);
            r->add_values(e.value.value.bytes().data(), e.value.value.bytes().size());
          }
          if (moved) {
            for (const auto& e : s) r->add_writers(e.value.replica.value);
          }
        } else if constexpr (std::is_same_v<S, MultiValueStore>) {
          v1::MultiValuePart* v = m->mutable_multi_value();
          WriteDots(s, table, held, v->mutable_dots());
          for (const auto& e : s) v->add_values(e.value.bytes().data(), e.value.bytes().size());
        } else if constexpr (std::is_same_v<S, SetStore>) {
          v1::SetPart* p = m->mutable_set();
          SetStoreParts parts;
          SetStoreToParts(s, table, held, &parts);
          p->mutable_elements()->Reserve(static_cast<int>(parts.elements.size()));
          for (std::string_view e : parts.elements) p->add_elements(e.data(), e.size());
          p->mutable_dot_count()->Add(parts.dot_count.begin(), parts.dot_count.end());
          v1::DotList* dots = p->mutable_dots();
          dots->mutable_replica()->Add(parts.dot_replica.begin(), parts.dot_replica.end());
          dots->mutable_counter()->Add(parts.dot_counter.begin(), parts.dot_counter.end());
        } else {
          static_assert(std::is_same_v<S, FlagStore>);
          WriteDots(s, table, held, m->mutable_flag()->mutable_dots());
        }
      },
      part.store);
}

void WriteMap(const ORMap& v, v1::ORMapState* m) {
  using Entry = std::pair<const Value*, const MapEntry*>;
  const ReplicaTableBuilder table(v.context());
  HeldCloudDots held(v.context());
  std::vector<Entry> sorted;
  sorted.reserve(v.store().size());
  for (const auto& [key, entry] : v.store()) sorted.emplace_back(&key, &entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry& a, const Entry& b) { return *a.first < *b.first; });
  m->mutable_entries()->Reserve(static_cast<int>(sorted.size()));
  for (const Entry& e : sorted) {
    v1::MapEntryState* out = m->add_entries();
    out->set_key(e.first->bytes().data(), e.first->bytes().size());
    for (const MapEntry::Part& part : e.second->parts()) {  // ascending by type, none empty
      WritePart(part, table, &held, out->add_parts());
    }
  }
  WriteTableAndContext(v.context(), &held, table, m);
}

// ---- Decoding ----

template <typename T, typename Fn>
Result<DotFun<T>> ReadDotFun(const v1::DotList& dots, StoreDotReader* reader, Fn&& payload) {
  DotFun<T> s;
  Status st =
      reader->ReadAscending(View(dots.replica()), View(dots.counter()), [&](int i, const Dot& d) {
        Result<T> p = payload(i, d);
        if (!p.ok()) return p.status();
        s.Insert(d, std::move(p).value());
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return s;
}

Result<MapEntry::Store> ReadCounterPart(CrdtType type, const v1::CounterPart& c,
                                        StoreDotReader* dots) {
  if (c.increments_size() != c.dots().replica_size() ||
      c.decrements_size() != c.dots().replica_size()) {
    return Status::Corruption("counter totals and dots differ in length");
  }
  auto s =
      ReadDotFun<CounterPayload>(c.dots(), dots, [&](int i, const Dot&) -> Result<CounterPayload> {
        if (type == CrdtType::kGCounter && c.decrements(i) != 0) {
          return Status::Corruption("a GCounter part with decrements");
        }
        return CounterPayload{c.increments(i), c.decrements(i)};
      });
  if (!s.ok()) return s.status();
  return MapEntry::Store(std::move(s).value());
}

Result<MapEntry::Store> ReadRegisterPart(v1::RegisterPart* r, StoreDotReader* dots) {
  if (r->timestamps_size() != r->dots().replica_size() ||
      r->values_size() != r->dots().replica_size() ||
      (r->writers_size() != 0 && r->writers_size() != r->dots().replica_size())) {
    return Status::Corruption("register writes and dots differ in length");
  }
  bool moved = false;  // writers are listed only when one differs from its dot's replica
  std::string scratch;
  auto s = ReadDotFun<RegisterPayload>(
      r->dots(), dots, [&](int i, const Dot& d) -> Result<RegisterPayload> {
        if (r->timestamps(i) == 0) return Status::Corruption("a register write at timestamp 0");
        if (!IsCanonicalMsgpack(r->values(i), &scratch)) {
          return Status::Corruption("a value not canonical msgpack");
        }
        ReplicaId writer = d.replica;
        if (r->writers_size() != 0) {
          if (r->writers(i) == 0) return Status::Corruption("a register writer of 0");
          writer = ReplicaId{r->writers(i)};
          moved = moved || writer != d.replica;
        }
        return RegisterPayload{r->timestamps(i), writer,
                               Value::FromCanonical(std::move(*r->mutable_values(i)))};
      });
  if (!s.ok()) return s.status();
  if (r->writers_size() != 0 && !moved) {
    return Status::Corruption("register writers listed though each is its dot's replica");
  }
  return MapEntry::Store(std::move(s).value());
}

Result<MapEntry::Store> ReadMultiValuePart(v1::MultiValuePart* v, StoreDotReader* dots) {
  Result<MultiValueStore> s = ReadValueDots(v->mutable_values(), View(v->dots().replica()),
                                            View(v->dots().counter()), dots);
  if (!s.ok()) return s.status();
  return MapEntry::Store(std::move(s).value());
}

Result<MapEntry::Store> ReadSetPart(const v1::SetPart& p, StoreDotReader* dots) {
  std::vector<std::string_view> elements(p.elements().begin(), p.elements().end());
  SetDotStore s;
  if (Status st = ReadSetStore(SetStoreView{elements, View(p.dot_count()), View(p.dots().replica()),
                                            View(p.dots().counter())},
                               dots, &s);
      !st.ok()) {
    return st;
  }
  return MapEntry::Store(std::move(s));
}

Result<MapEntry::Store> ReadFlagPart(const v1::FlagPart& f, StoreDotReader* dots) {
  auto s = ReadDotFun<Unit>(f.dots(), dots, [](int, const Dot&) -> Result<Unit> { return Unit{}; });
  if (!s.ok()) return s.status();
  return MapEntry::Store(std::move(s).value());
}

// The store of a part of a nestable type, read from the field for that type.
Result<MapEntry::Store> ReadStoreOf(CrdtType type, v1::MapPart* p, StoreDotReader* dots) {
  switch (type) {
    case CrdtType::kGCounter:
    case CrdtType::kPNCounter:
      if (p->store_case() != v1::MapPart::kCounter) break;
      return ReadCounterPart(type, p->counter(), dots);
    case CrdtType::kLWWRegister:
      if (p->store_case() != v1::MapPart::kLwwRegister) break;
      return ReadRegisterPart(p->mutable_lww_register(), dots);
    case CrdtType::kMVRegister:
      if (p->store_case() != v1::MapPart::kMultiValue) break;
      return ReadMultiValuePart(p->mutable_multi_value(), dots);
    case CrdtType::kORSet:
    case CrdtType::kGSet:
      if (p->store_case() != v1::MapPart::kSet) break;
      return ReadSetPart(p->set(), dots);
    case CrdtType::kFlag:
      if (p->store_case() != v1::MapPart::kFlag) break;
      return ReadFlagPart(p->flag(), dots);
    default:
      return Status::Corruption("a part of a type a map cannot hold");
  }
  return Status::Corruption("a part whose store does not match its type");
}

// The store of one part: of a type a map can hold, in the field for that type, not empty.
Result<MapEntry::Store> ReadPart(v1::MapPart* p, StoreDotReader* dots) {
  if (p->type() > 0xff || !IsNestable(static_cast<CrdtType>(p->type()))) {  // CrdtType: 8 bits
    return Status::Corruption("a part of a type a map cannot hold");
  }
  Result<MapEntry::Store> s = ReadStoreOf(static_cast<CrdtType>(p->type()), p, dots);
  if (!s.ok()) return s;
  if (std::visit([](const auto& store) { return store.empty(); }, s.value())) {
    return Status::Corruption("an empty part");
  }
  return s;
}

Result<ORMap> ReadMap(const char* type, v1::ORMapState* m) {
  ReplicaTableReader table;
  CausalContext ctx;  // as on the wire: without the store's dots
  if (Status s = ReadTableAndContext(*m, &table, &ctx); !s.ok()) return Corruption(type, s);
  std::string scratch;
  for (int i = 0; i < m->entries_size(); ++i) {
    if (i > 0 && !(m->entries(i - 1).key() < m->entries(i).key())) {
      return Corruption(type, "keys not strictly ascending");
    }
    if (!IsCanonicalMsgpack(m->entries(i).key(), &scratch)) {
      return Corruption(type, "a key not canonical msgpack");
    }
  }
  StoreDotReader dots(&table, &ctx);
  ORMap::Store store;
  store.Reserve(static_cast<size_t>(m->entries_size()));
  for (v1::MapEntryState& e : *m->mutable_entries()) {
    if (e.parts_size() == 0) return Corruption(type, "an entry without parts");
    MapEntry entry;
    for (int j = 0; j < e.parts_size(); ++j) {
      if (j > 0 && !(e.parts(j - 1).type() < e.parts(j).type())) {
        return Corruption(type, "parts not strictly ascending by type");
      }
      Result<MapEntry::Store> part = ReadPart(e.mutable_parts(j), &dots);
      if (!part.ok()) return Corruption(type, part.status());
      entry.FindOrAdd(static_cast<CrdtType>(e.parts(j).type())).store = std::move(part).value();
    }
    if (!store.InsertDecoded(Value::FromCanonical(std::move(*e.mutable_key())), std::move(entry))) {
      return Corruption(type, "a key twice");
    }
  }
  if (Status s = table.CheckAllUsed(); !s.ok()) return Corruption(type, s);
  dots.AddBackTo(&ctx);
  return ORMap::FromParts(std::move(store), std::move(ctx));
}

template <typename T>
Result<T> ReadTypedMap(const char* type, v1::ORMapState* m) {
  Result<ORMap> map = ReadMap(type, m);
  if (!map.ok()) return map.status();
  Result<T> typed = T::FromMap(std::move(map).value());
  if (!typed.ok()) return Corruption(type, typed.status());
  return typed;
}

}  // namespace

void WriteState(const ORMap& v, v1::Crdt* msg) { WriteMap(v, msg->mutable_or_map()); }
void WriteState(const LWWMap& v, v1::Crdt* msg) { WriteMap(v.map(), msg->mutable_lww_map()); }
void WriteState(const PNCounterMap& v, v1::Crdt* msg) {
  WriteMap(v.map(), msg->mutable_pn_counter_map());
}
void WriteState(const ORMultiMap& v, v1::Crdt* msg) {
  WriteMap(v.map(), msg->mutable_or_multi_map());
}

Result<ORMap> ReadState(v1::Crdt* msg, std::type_identity<ORMap>) {
  return ReadMap("ORMap", msg->mutable_or_map());
}
Result<LWWMap> ReadState(v1::Crdt* msg, std::type_identity<LWWMap>) {
  return ReadTypedMap<LWWMap>("LWWMap", msg->mutable_lww_map());
}
Result<PNCounterMap> ReadState(v1::Crdt* msg, std::type_identity<PNCounterMap>) {
  return ReadTypedMap<PNCounterMap>("PNCounterMap", msg->mutable_pn_counter_map());
}
Result<ORMultiMap> ReadState(v1::Crdt* msg, std::type_identity<ORMultiMap>) {
  return ReadTypedMap<ORMultiMap>("ORMultiMap", msg->mutable_or_multi_map());
}

}  // namespace convergent::internal
