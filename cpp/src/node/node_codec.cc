#include "node/node_codec.h"

#include "codec/canonical_msgpack.h"  // IsValidUtf8
#include "convergent/v1/node.pb.h"

namespace convergent::internal {
namespace {

constexpr size_t kMaxKnown = 10000;  // members in one heartbeat
constexpr size_t kMaxField = 4096;   // bytes of a name, URL or role
constexpr size_t kMaxDatacenters = 1000;

void ToProto(const MemberRecord& m, v1::MemberInfo* p) {
  p->set_id(m.id);
  p->set_name(m.name);
  p->set_incarnation(m.incarnation);
  p->set_bus_url(m.bus_url);
  p->set_p2p_url(m.p2p_url);
  p->set_role(m.role);
  p->set_leaving(m.leaving);
  p->set_replica(m.replica);
  p->set_datacenter(m.datacenter);
}

Result<MemberRecord> FromProto(const v1::MemberInfo& p) {
  for (const std::string* s : {&p.name(), &p.bus_url(), &p.p2p_url(), &p.role(), &p.datacenter()}) {
    if (s->size() > kMaxField) return Status::Corruption("heartbeat: a field is too long");
    if (!IsValidUtf8(*s)) return Status::Corruption("heartbeat: a field is not valid UTF-8");
  }
  return MemberRecord{p.id(),   p.name(),    p.incarnation(), p.bus_url(),   p.p2p_url(),
                      p.role(), p.leaving(), p.replica(),     p.datacenter()};
}

template <typename Repeated>
Status GetMembers(const Repeated& from, std::vector<MemberRecord>* to) {
  for (const v1::MemberInfo& k : from) {
    auto m = FromProto(k);
    if (!m.ok()) return m.status();
    to->push_back(std::move(m).value());
  }
  return Status::Ok();
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
  for (const RemoteDcInfo& d : h.datacenters) {
    v1::RemoteDatacenter* r = p.add_datacenters();
    r->set_name(d.name);
    for (const MemberRecord& m : d.members) ToProto(m, r->add_members());
    if (d.gateway) r->set_gateway(*d.gateway);
    r->set_reachable(d.reachable);
  }
  for (const auto& [name, age] : h.dc_acked) {
    v1::DatacenterAck* a = p.add_dc_acked();
    a->set_name(name);
    a->set_acked_age_us(static_cast<uint64_t>(age));
  }
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
  if (Status s = GetMembers(p.known(), &h.known); !s.ok()) return s;
  if (static_cast<size_t>(p.datacenters_size()) > kMaxDatacenters ||
      static_cast<size_t>(p.dc_acked_size()) > kMaxDatacenters) {
    return Status::Corruption("heartbeat: too many datacenters");
  }
  for (const v1::RemoteDatacenter& d : p.datacenters()) {
    if (d.name().size() > kMaxField || !IsValidUtf8(d.name()) ||
        static_cast<size_t>(d.members_size()) > kMaxKnown) {
      return Status::Corruption("heartbeat: a bad datacenter");
    }
    RemoteDcInfo info{d.name(), {}, std::nullopt, d.reachable()};
    if (d.has_gateway()) info.gateway = d.gateway();
    if (Status s = GetMembers(d.members(), &info.members); !s.ok()) return s;
    h.datacenters.push_back(std::move(info));
  }
  for (const v1::DatacenterAck& a : p.dc_acked()) {
    if (a.name().size() > kMaxField || !IsValidUtf8(a.name()) ||
        a.acked_age_us() > (uint64_t{1} << 62)) {
      return Status::Corruption("heartbeat: a bad datacenter ack");
    }
    h.dc_acked.emplace_back(a.name(), static_cast<TimeMicros>(a.acked_age_us()));
  }
  for (const v1::LossReport& l : p.losses()) {
    h.losses.push_back(LossReport{l.sender(), l.incarnation(), l.frames_lost()});
  }
  h.removed_replicas.assign(p.removed_replicas().begin(), p.removed_replicas().end());
  return h;
}

std::string EncodeDatacenterHelloFrame(const DatacenterHelloMsg& h) {
  v1::DatacenterHello p;
  ToProto(h.sender, p.mutable_sender());
  for (const MemberRecord& m : h.members) ToProto(m, p.add_members());
  if (h.gateway) p.set_gateway(*h.gateway);
  p.set_reply(h.reply);
  std::string out(1, kDatacenterHelloTag);
  p.AppendToString(&out);
  return out;
}

Result<DatacenterHelloMsg> DecodeDatacenterHello(std::string_view bytes) {
  v1::DatacenterHello p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !p.has_sender()) {
    return Status::Corruption("datacenter hello: does not decode");
  }
  if (static_cast<size_t>(p.members_size()) > kMaxKnown) {
    return Status::Corruption("datacenter hello: too many members");
  }
  DatacenterHelloMsg h;
  auto sender = FromProto(p.sender());
  if (!sender.ok()) return sender.status();
  h.sender = std::move(sender).value();
  if (h.sender.datacenter.empty()) return Status::Corruption("datacenter hello: no datacenter");
  if (Status s = GetMembers(p.members(), &h.members); !s.ok()) return s;
  if (p.has_gateway()) h.gateway = p.gateway();
  h.reply = p.reply();
  return h;
}

}  // namespace convergent::internal
