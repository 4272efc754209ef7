#include "replica/frame_codec.h"

#include <climits>
#include <type_traits>
#include <utility>

#include "codec/canonical_msgpack.h"  // IsValidUtf8
#include "codec/wire_format.h"
#include "convergent/v1/replication.pb.h"
#include "replica/delete_codec.h"
#include "replica/pruning_marker_codec.h"

namespace convergent::internal {
namespace {

constexpr uint32_t kMaxTypeNumber = static_cast<uint32_t>(CrdtType::kORMultiMap);
constexpr uint32_t kMaxTreeLevel = 8;

// ---- C++ -> protobuf ----

// (The frame is the encoder's: its states' bytes move into the encoding, not copied.)
void Put(KeyedState& s, v1::KeyedState* m) {
  m->set_key(s.key);
  m->set_state(std::move(s.state));
  m->set_full(s.full);
  PutMarkers(s.pruning, m->mutable_pruning());
  m->set_last_active_us(s.last_active_us);
}
void Put(const Tombstone& t, v1::KeyTombstone* m) {
  m->set_key(t.key);
  m->set_type(static_cast<uint32_t>(t.type));
  m->set_deleted_at_us(t.deleted_at_us);
  PutDots(t.dots, m->mutable_dot_replicas(), m->mutable_dot_counters());
}
template <typename T, typename Repeated>
void PutAll(std::vector<T>& from, Repeated* to) {
  to->Reserve(static_cast<int>(from.size()));
  for (T& x : from) Put(x, to->Add());
}
template <typename T, typename Repeated>
void PutScalars(const std::vector<T>& from, Repeated* to) {
  to->Reserve(static_cast<int>(from.size()));
  for (const T& x : from) to->Add(x);
}

void Put(DeltaBatchMsg& b, v1::Frame* f) {
  auto* m = f->mutable_delta_batch();
  PutAll(b.entries, m->mutable_entries());
  PutAll(b.tombstones, m->mutable_tombstones());
  m->set_relayed(b.relayed);
}
void Put(DcBatchMsg& b, v1::Frame* f) {
  auto* m = f->mutable_dc_batch();
  m->set_seq(b.seq);
  m->set_datacenter(b.datacenter);
  PutAll(b.entries, m->mutable_entries());
  PutAll(b.tombstones, m->mutable_tombstones());
  m->set_since_wall_us(b.since_wall_us);
}
void Put(const DcAckMsg& a, v1::Frame* f) {
  PutScalars(a.seqs, f->mutable_dc_ack()->mutable_seqs());
}
void Put(WriteRequestMsg& w, v1::Frame* f) {
  auto* m = f->mutable_write();
  m->set_request_id(w.request_id);
  if (w.entry) Put(*w.entry, m->mutable_entry());
  if (w.tombstone) Put(*w.tombstone, m->mutable_tombstone());
  m->set_datacenter(w.datacenter);
}
void Put(const WriteAckMsg& a, v1::Frame* f) {
  auto* m = f->mutable_write_ack();
  m->set_request_id(a.request_id);
  m->set_error(a.error);
  m->set_deleted(a.deleted);
}
void Put(const ReadRequestMsg& r, v1::Frame* f) {
  auto* m = f->mutable_read();
  m->set_request_id(r.request_id);
  m->set_key(r.key);
  m->set_type(static_cast<uint32_t>(r.type));
  m->set_datacenter(r.datacenter);
}
void Put(ReadReplyMsg& r, v1::Frame* f) {
  auto* m = f->mutable_read_reply();
  m->set_request_id(r.request_id);
  if (r.entry) Put(*r.entry, m->mutable_entry());
  if (r.tombstone) Put(*r.tombstone, m->mutable_tombstone());
  m->set_error(r.error);
}
void Put(const DigestStepMsg& d, v1::Frame* f) {
  auto* m = f->mutable_digest_step();
  m->set_round(d.round);
  m->set_level(d.level);
  m->set_depth(d.depth);
  PutScalars(d.nodes, m->mutable_nodes());
  PutScalars(d.digests, m->mutable_digests());
  if (d.deletes) {
    PutVector(d.deletes->seen, m->mutable_deletes_seen());
    PutVector(d.deletes->collected, m->mutable_deletes_collected());
    m->set_deletes_members(d.deletes->members);
    m->set_deletes_retired_digest(d.deletes->retired_digest);
    if (d.deletes->retired) PutVector(*d.deletes->retired, m->mutable_deletes_retired());
    m->set_deletes_unsure(d.deletes->unsure);
    m->set_deletes_fresh(d.deletes->fresh);
  }
}
void Put(const KeyDigestsMsg& k, v1::Frame* f) {
  auto* m = f->mutable_key_digests();
  m->set_round(k.round);
  PutScalars(k.leaves, m->mutable_leaves());
  PutScalars(k.key_count, m->mutable_key_count());
  PutScalars(k.key_hashes, m->mutable_key_hashes());
  PutScalars(k.key_digests, m->mutable_key_digests());
  m->set_level(k.level);
}
void Put(FragmentMsg& x, v1::Frame* f) {
  auto* m = f->mutable_fragment();
  m->set_message_id(x.message_id);
  m->set_index(x.index);
  m->set_count(x.count);
  m->set_total_size(x.total_size);
  m->set_payload(std::move(x.payload));
}
void Put(RepairMsg& r, v1::Frame* f) {
  auto* m = f->mutable_repair();
  m->set_round(r.round);
  PutAll(r.entries, m->mutable_entries());
  PutAll(r.tombstones, m->mutable_tombstones());
  PutScalars(r.wanted, m->mutable_wanted());
  m->mutable_since()->Reserve(static_cast<int>(r.since.size()));
  for (const KeyContextMsg& c : r.since) {
    v1::KeyContext* out = m->add_since();
    out->set_key_hash(c.key_hash);
    PutContext(c.context, out);
    out->set_reply(c.reply);
  }
}

// ---- protobuf -> C++ (untrusted) ----

Result<CrdtType> TypeNumber(uint32_t n) {
  if (n == 0 || n > kMaxTypeNumber) return Status::Corruption("frame: unknown CRDT type number");
  return static_cast<CrdtType>(n);
}
// Text fields are `bytes` on the wire (see replication.proto): checked here.
Status CheckText(const std::string& s, const char* what) {
  if (IsValidUtf8(s)) return Status::Ok();
  return Status::Corruption(std::string("frame: ") + what + " is not valid UTF-8");
}
Result<KeyedState> Get(v1::KeyedState* m) {
  if (Status s = CheckText(m->key(), "a key"); !s.ok()) return s;
  if (m->key().empty()) return Status::Corruption("frame: a key name is empty");
  auto markers = GetMarkers(m->pruning());
  if (!markers.ok()) return markers.status();
  return KeyedState{std::move(*m->mutable_key()), std::move(*m->mutable_state()), m->full(),
                    std::move(markers).value(), m->last_active_us()};
}
Result<Tombstone> Get(v1::KeyTombstone* m) {
  if (Status s = CheckText(m->key(), "a key"); !s.ok()) return s;
  auto type = TypeNumber(m->type());
  if (!type.ok()) return type.status();
  if (m->key().empty()) return Status::Corruption("frame: a key name is empty");
  auto dots = GetDots(m->dot_replicas(), m->dot_counters());
  if (!dots.ok()) return Status::Corruption("frame: " + dots.status().message());
  return Tombstone{std::move(*m->mutable_key()), *type, m->deleted_at_us(),
                   std::move(dots).value()};
}

template <typename T, typename Repeated>
Status GetAll(Repeated* from, std::vector<T>* to) {
  to->reserve(from->size());
  for (auto& m : *from) {
    auto t = Get(&m);
    if (!t.ok()) return t.status();
    to->push_back(std::move(t).value());
  }
  return Status::Ok();
}

Result<FrameBody> Get(v1::Frame* f) {
  switch (f->body_case()) {
    case v1::Frame::kDeltaBatch: {
      DeltaBatchMsg b;
      auto* m = f->mutable_delta_batch();
      if (Status s = GetAll(m->mutable_entries(), &b.entries); !s.ok()) return s;
      if (Status s = GetAll(m->mutable_tombstones(), &b.tombstones); !s.ok()) return s;
      b.relayed = m->relayed();
      return FrameBody(std::move(b));
    }
    case v1::Frame::kDcBatch: {
      auto* m = f->mutable_dc_batch();
      if (Status s = CheckText(m->datacenter(), "a datacenter"); !s.ok()) return s;
      DcBatchMsg b;
      b.seq = m->seq();
      b.datacenter = std::move(*m->mutable_datacenter());
      if (Status s = GetAll(m->mutable_entries(), &b.entries); !s.ok()) return s;
      if (Status s = GetAll(m->mutable_tombstones(), &b.tombstones); !s.ok()) return s;
      b.since_wall_us = m->since_wall_us();
      return FrameBody(std::move(b));
    }
    case v1::Frame::kDcAck:
      return FrameBody(DcAckMsg{{f->dc_ack().seqs().begin(), f->dc_ack().seqs().end()}});
    case v1::Frame::kWrite: {
      auto* m = f->mutable_write();
      WriteRequestMsg w;
      w.request_id = m->request_id();
      if (m->has_entry()) {
        auto e = Get(m->mutable_entry());
        if (!e.ok()) return e.status();
        w.entry = std::move(e).value();
      }
      if (m->has_tombstone()) {
        auto t = Get(m->mutable_tombstone());
        if (!t.ok()) return t.status();
        w.tombstone = std::move(t).value();
      }
      w.datacenter = m->datacenter();
      if (w.entry.has_value() == w.tombstone.has_value()) {
        return Status::Corruption("frame: a write needs exactly one of entry and tombstone");
      }
      return FrameBody(std::move(w));
    }
    case v1::Frame::kWriteAck:
      if (Status s = CheckText(f->write_ack().error(), "an error"); !s.ok()) return s;
      return FrameBody(WriteAckMsg{f->write_ack().request_id(), f->write_ack().error(),
                                   f->write_ack().deleted()});
    case v1::Frame::kRead: {
      auto* m = f->mutable_read();
      if (Status s = CheckText(m->key(), "a key"); !s.ok()) return s;
      auto type = TypeNumber(m->type());
      if (!type.ok()) return type.status();
      return FrameBody(
          ReadRequestMsg{m->request_id(), std::move(*m->mutable_key()), *type, m->datacenter()});
    }
    case v1::Frame::kReadReply: {
      auto* m = f->mutable_read_reply();
      ReadReplyMsg r;
      r.request_id = m->request_id();
      if (m->has_entry()) {
        auto e = Get(m->mutable_entry());
        if (!e.ok()) return e.status();
        r.entry = std::move(e).value();
      }
      if (m->has_tombstone()) {
        auto t = Get(m->mutable_tombstone());
        if (!t.ok()) return t.status();
        r.tombstone = std::move(t).value();
      }
      if (Status s = CheckText(m->error(), "an error"); !s.ok()) return s;
      r.error = m->error();
      return FrameBody(std::move(r));
    }
    case v1::Frame::kDigestStep: {
      const auto& m = f->digest_step();
      if (m.level() == 0 || m.level() > kMaxTreeLevel || m.depth() > kMaxTreeLevel ||
          m.nodes_size() != m.digests_size()) {
        return Status::Corruption("frame: a digest step with a bad level, depth or counts");
      }
      DigestStepMsg step{m.round(),
                         m.level(),
                         {m.nodes().begin(), m.nodes().end()},
                         {m.digests().begin(), m.digests().end()},
                         std::nullopt,
                         m.depth()};
      if (m.has_deletes_seen() || m.has_deletes_collected()) {
        auto seen = GetVector(m.deletes_seen());
        auto collected = GetVector(m.deletes_collected());
        if (!seen.ok() || !collected.ok()) {
          return Status::Corruption("frame: a digest step with a bad delete vector");
        }
        step.deletes = DeleteAdvert{std::move(seen).value(),
                                    std::move(collected).value(),
                                    m.deletes_members(),
                                    m.deletes_retired_digest(),
                                    std::nullopt,
                                    m.deletes_unsure(),
                                    m.deletes_fresh()};
        if (m.has_deletes_retired()) {
          auto retired = GetVector(m.deletes_retired());
          if (!retired.ok()) {
            return Status::Corruption("frame: a digest step with a bad retired delete vector");
          }
          step.deletes->retired = std::move(retired).value();
        }
      }
      return FrameBody(std::move(step));
    }
    case v1::Frame::kKeyDigests: {
      const auto& m = f->key_digests();
      if (m.leaves_size() != m.key_count_size() || m.key_hashes_size() != m.key_digests_size()) {
        return Status::Corruption("frame: key digests with mismatched counts");
      }
      if (m.level() > kMaxTreeLevel) return Status::Corruption("frame: key digests' bad level");
      uint64_t total = 0;
      for (uint32_t c : m.key_count()) total += c;
      if (total != static_cast<uint64_t>(m.key_hashes_size())) {
        return Status::Corruption("frame: key counts do not add up");
      }
      return FrameBody(KeyDigestsMsg{m.round(),
                                     {m.leaves().begin(), m.leaves().end()},
                                     {m.key_count().begin(), m.key_count().end()},
                                     {m.key_hashes().begin(), m.key_hashes().end()},
                                     {m.key_digests().begin(), m.key_digests().end()},
                                     m.level()});
    }
    case v1::Frame::kRepair: {
      auto* m = f->mutable_repair();
      RepairMsg r;
      r.round = m->round();
      if (Status s = GetAll(m->mutable_entries(), &r.entries); !s.ok()) return s;
      if (Status s = GetAll(m->mutable_tombstones(), &r.tombstones); !s.ok()) return s;
      r.wanted.assign(m->wanted().begin(), m->wanted().end());
      r.since.reserve(static_cast<size_t>(m->since_size()));
      for (const v1::KeyContext& c : m->since()) {
        auto ctx = GetContext(c);
        if (!ctx.ok()) return Status::Corruption("frame: a key context: " + ctx.status().message());
        r.since.push_back(KeyContextMsg{c.key_hash(), std::move(ctx).value(), c.reply()});
      }
      return FrameBody(std::move(r));
    }
    case v1::Frame::kFragment: {
      auto* m = f->mutable_fragment();
      if (m->count() == 0 || m->index() >= m->count() || m->payload().empty() ||
          m->total_size() < m->payload().size()) {
        return Status::Corruption("frame: a fragment with a bad index, count or size");
      }
      return FrameBody(FragmentMsg{m->message_id(), m->index(), m->count(), m->total_size(),
                                   std::move(*m->mutable_payload())});
    }
    case v1::Frame::BODY_NOT_SET:
      break;
  }
  return Status::Corruption("frame: no body");
}

void Put(FrameMsg& frame, v1::Frame* f) {
  f->set_from_node(frame.from);
  f->set_from_replica(frame.from_replica.value);
  std::visit([&](auto& body) { Put(body, f); }, frame.body);
}

}  // namespace

std::string EncodeFrame(FrameMsg frame) {
  v1::Frame f;
  Put(frame, &f);
  std::string out;
  f.SerializeToString(&out);
  return out;
}

FrameRope EncodeFrameRope(FrameMsg frame, size_t contiguous_up_to) {
  // Chunks of the rope: a key state longer than this is referred to, not copied.
  constexpr size_t kChunk = 16 * 1024;
  v1::Frame f;
  Put(frame, &f);
  const size_t size = f.ByteSizeLong();
  if (size <= contiguous_up_to) {
    std::string out(size, '\0');
    f.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data()));
    return FrameRope(std::move(out));
  }
  auto owner = std::make_shared<v1::Frame>(std::move(f));  // (a move: the states stay put)
  const v1::Frame& message = *owner;
  return FrameRope::Serialize(message, std::move(owner), kChunk);
}

Result<FrameMsg> DecodeFrame(std::string_view bytes) {
  if (bytes.size() > INT_MAX) return Status::Corruption("frame: too large");
  v1::Frame f;
  if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("frame: not a valid protobuf Frame");
  }
  auto body = Get(&f);
  if (!body.ok()) return body.status();
  return FrameMsg{f.from_node(), std::move(body).value(), ReplicaId{f.from_replica()}};
}

std::optional<FrameKind> PeekFrameKind(std::string_view bytes) {
  wire::WireReader in(bytes);
  std::optional<FrameKind> kind;
  while (!in.AtEnd()) {
    const uint32_t tag = in.Tag();
    const uint32_t field = tag >> 3;
    if (field >= 2 && field <= 9) kind = static_cast<FrameKind>(field - 2);  // Frame's bodies
    if (field == 11) kind = FrameKind::kFragment;
    if (field == 12) kind = FrameKind::kDcBatch;
    if (field == 13) kind = FrameKind::kDcAck;
    if (tag == 0 || !in.SkipField(tag)) return std::nullopt;
  }
  return kind;
}

}  // namespace convergent::internal
