#include "node/node_codec.h"

#include "codec/canonical_msgpack.h"  // IsValidUtf8
#include "convergent/v1/node.pb.h"

namespace convergent::internal {
namespace {

constexpr size_t kMaxKnown = 10000;  // members in one heartbeat
constexpr size_t kMaxField = 4096;   // bytes of a name, URL or role

void ToProto(const MemberRecord& m, v1::MemberInfo* p) {
  p->set_id(m.id);
  p->set_name(m.name);
  p->set_incarnation(m.incarnation);
  p->set_bus_url(m.bus_url);
  p->set_p2p_url(m.p2p_url);
  p->set_role(m.role);
  p->set_leaving(m.leaving);
  p->set_replica(m.replica);
}

Result<MemberRecord> FromProto(const v1::MemberInfo& p) {
  for (const std::string* s : {&p.name(), &p.bus_url(), &p.p2p_url(), &p.role()}) {
    if (s->size() > kMaxField) return Status::Corruption("heartbeat: a field is too long");
    if (!IsValidUtf8(*s)) return Status::Corruption("heartbeat: a field is not valid UTF-8");
  }
  return MemberRecord{p.id(),      p.name(), p.incarnation(), p.bus_url(),
                      p.p2p_url(), p.role(), p.leaving(),     p.replica()};
}

void PutWord(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetWord(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

void AppendBusHeader(const BusHeader& h, std::string* out) {
  out->push_back(kBusTag);
  PutWord(h.sender, out);
  PutWord(h.incarnation, out);
  PutWord(h.seq, out);
}

Result<BusHeader> DecodeBusHeader(std::string_view frame, std::string_view* rest) {
  if (frame.size() < kBusHeaderSize || frame[0] != kBusTag) {
    return Status::Corruption("bus frame: no header");
  }
  BusHeader h{GetWord(frame.data() + 1), GetWord(frame.data() + 9), GetWord(frame.data() + 17)};
  *rest = frame.substr(kBusHeaderSize);
  return h;
}

std::string EncodeHeartbeatFrame(const HeartbeatMsg& h) {
  v1::Heartbeat p;
  ToProto(h.sender, p.mutable_sender());
  for (const MemberRecord& m : h.known) ToProto(m, p.add_known());
  for (const LossReport& l : h.losses) {
    v1::LossReport* r = p.add_losses();
    r->set_sender(l.sender);
    r->set_incarnation(l.incarnation);
    r->set_frames_lost(l.frames_lost);
  }
  for (uint64_t r : h.removed_replicas) p.add_removed_replicas(r);
  std::string out(1, kHeartbeatTag);
  p.AppendToString(&out);
  return out;
}

Result<HeartbeatMsg> DecodeHeartbeat(std::string_view bytes) {
  v1::Heartbeat p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !p.has_sender()) {
    return Status::Corruption("heartbeat: does not decode");
  }
  if (static_cast<size_t>(p.known_size()) > kMaxKnown ||
      static_cast<size_t>(p.losses_size()) > kMaxKnown ||
      static_cast<size_t>(p.removed_replicas_size()) > 10 * kMaxKnown) {
    return Status::Corruption("heartbeat: too many members");
  }
  HeartbeatMsg h;
  auto sender = FromProto(p.sender());
  if (!sender.ok()) return sender.status();
  h.sender = std::move(sender).value();
  for (const v1::MemberInfo& k : p.known()) {
    auto m = FromProto(k);
    if (!m.ok()) return m.status();
    h.known.push_back(std::move(m).value());
  }
  for (const v1::LossReport& l : p.losses()) {
    h.losses.push_back(LossReport{l.sender(), l.incarnation(), l.frames_lost()});
  }
  h.removed_replicas.assign(p.removed_replicas().begin(), p.removed_replicas().end());
  return h;
}

}  // namespace convergent::internal
