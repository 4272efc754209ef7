// The states without a causal context: GCounter, PNCounter, LWWRegister, Flag, GSet.
#include <string>
#include <utility>
#include <vector>

#include "codec/canonical_msgpack.h"
#include "codec/state_codec.h"

namespace convergent::internal {
namespace {

void WriteSlots(const GCounter& c, v1::GCounterState* m) {
  const auto& slots = c.slots();  // sorted by replica, counts > 0
  m->mutable_replicas()->Reserve(static_cast<int>(slots.size()));
  m->mutable_counts()->Reserve(static_cast<int>(slots.size()));
  for (const auto& [replica, count] : slots) {
    m->add_replicas(replica.value);
    m->add_counts(count);
  }
}

Result<GCounter> ReadSlots(const char* type, const v1::GCounterState& m) {
  if (m.replicas_size() != m.counts_size()) {
    return Corruption(type, "replicas and counts differ in length");
  }
  std::vector<GCounter::Slot> slots;
  slots.reserve(static_cast<size_t>(m.replicas_size()));
  for (int i = 0; i < m.replicas_size(); ++i) {
    if (i > 0 && !(m.replicas(i - 1) < m.replicas(i))) {
      return Corruption(type, "replicas not strictly ascending");
    }
    if (m.counts(i) == 0) return Corruption(type, "a count of 0");
    slots.emplace_back(ReplicaId{m.replicas(i)}, m.counts(i));
  }
  return GCounter::FromSlots(std::move(slots));
}

}  // namespace

Status Corruption(const char* type, const Status& s) {
  return Status::Corruption(std::string(type) + ": " + s.message());
}

Status Corruption(const char* type, const char* what) {
  return Status::Corruption(std::string(type) + ": " + what);
}

void WriteState(const GCounter& v, v1::Crdt* msg) { WriteSlots(v, msg->mutable_g_counter()); }

Result<GCounter> ReadState(v1::Crdt* msg, std::type_identity<GCounter>) {
  return ReadSlots("GCounter", msg->g_counter());
}

// An empty half is left out.
void WriteState(const PNCounter& v, v1::Crdt* msg) {
  v1::PNCounterState* m = msg->mutable_pn_counter();
  if (!v.increments().empty()) WriteSlots(v.increments(), m->mutable_increments());
  if (!v.decrements().empty()) WriteSlots(v.decrements(), m->mutable_decrements());
}

Result<PNCounter> ReadState(v1::Crdt* msg, std::type_identity<PNCounter>) {
  const v1::PNCounterState& m = msg->pn_counter();
  Result<GCounter> p = ReadSlots("PNCounter increments", m.increments());
  if (!p.ok()) return p.status();
  Result<GCounter> n = ReadSlots("PNCounter decrements", m.decrements());
  if (!n.ok()) return n.status();
  return PNCounter::FromParts(std::move(p).value(), std::move(n).value());
}

// A register never set is the empty message (value empty, timestamp 0, replica 0).
void WriteState(const LWWRegister& v, v1::Crdt* msg) {
  v1::LWWRegisterState* m = msg->mutable_lww_register();
  if (!v.is_set()) return;
  m->set_value(v.value().bytes().data(), v.value().bytes().size());
  m->set_timestamp(v.timestamp());
  m->set_replica(v.replica().value);
}

Result<LWWRegister> ReadState(v1::Crdt* msg, std::type_identity<LWWRegister>) {
  v1::LWWRegisterState* m = msg->mutable_lww_register();
  if (m->timestamp() == 0) {
    if (!m->value().empty()) return Corruption("LWWRegister", "a value at timestamp 0");
    if (m->replica() != 0) return Corruption("LWWRegister", "a replica at timestamp 0");
    return LWWRegister();
  }
  std::string scratch;
  if (!IsCanonicalMsgpack(m->value(), &scratch)) {
    return Corruption("LWWRegister", "value not canonical msgpack");
  }
  return LWWRegister::FromParts(Value::FromCanonical(std::move(*m->mutable_value())),
                                m->timestamp(), ReplicaId{m->replica()});
}

void WriteState(const Flag& v, v1::Crdt* msg) { msg->mutable_flag()->set_enabled(v.enabled()); }

Result<Flag> ReadState(v1::Crdt* msg, std::type_identity<Flag>) {
  return Flag(msg->flag().enabled());
}

void WriteState(const GSet& v, v1::Crdt* msg) {
  v1::GSetState* m = msg->mutable_g_set();
  std::vector<Value> elements = v.Elements();  // ascending
  m->mutable_elements()->Reserve(static_cast<int>(elements.size()));
  for (const Value& e : elements) m->add_elements(e.bytes().data(), e.bytes().size());
}

Result<GSet> ReadState(v1::Crdt* msg, std::type_identity<GSet>) {
  v1::GSetState* m = msg->mutable_g_set();
  std::string scratch;
  for (int i = 0; i < m->elements_size(); ++i) {
    if (i > 0 && !(m->elements(i - 1) < m->elements(i))) {
      return Corruption("GSet", "elements not strictly ascending");
    }
    if (!IsCanonicalMsgpack(m->elements(i), &scratch)) {
      return Corruption("GSet", "an element not canonical msgpack");
    }
  }
  GSet set;
  for (std::string& e : *m->mutable_elements()) set.Add(Value::FromCanonical(std::move(e)));
  return set;
}

}  // namespace convergent::internal
