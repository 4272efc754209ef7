// The replicator's local requests, frame dispatch, timers and answers to the peers' coordinated
// requests, over its parts (see replicator_impl.h): KeyStore, AntiEntropy, DeltaFlush and
// Coordinator.
#include "convergent/replicator.h"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "convergent/codec.h"
#include "replica/frame_codec.h"
#include "replica/replicator_impl.h"
#include "replica/snapshot_codec.h"

namespace convergent {

using internal::DeltaBatchMsg;
using internal::FrameMsg;
using internal::KeyedState;
using internal::Tombstone;

namespace {

// A peer's full state this large is compared with the key's digest before it is decoded (two
// peers repairing the same key send it twice), its bytes are released once decoded (the decoded
// value is about 2.5 times their size, and both at once set the memory's peak), and the key is
// digested right after the merge.
constexpr size_t kHeldCheckBytes = 64 * 1024;

std::string TypeError(std::string_view key, CrdtType have, CrdtType want) {
  return "key '" + std::string(key) + "' holds " + CrdtTypeWithArticle(have) + ", not " +
         CrdtTypeWithArticle(want);
}

// Mutators throw std::overflow_error / std::invalid_argument on inputs they cannot take (a
// counter slot or a dot counter at 2^64-1): an error of the request, never of the node.
Result<AnyCrdt> GuardedMutate(const Replicator::Mutation& mutate, AnyCrdt& value) {
  try {
    return mutate(value);
  } catch (const std::overflow_error& e) {
    return Status::InvalidArgument(e.what());
  } catch (const std::invalid_argument& e) {
    return Status::InvalidArgument(e.what());
  }
}

}  // namespace

const char* FrameKindName(FrameKind k) {
  switch (k) {
    case FrameKind::kDeltaBatch:
      return "delta";
    case FrameKind::kWrite:
      return "write";
    case FrameKind::kWriteAck:
      return "write_ack";
    case FrameKind::kRead:
      return "read";
    case FrameKind::kReadReply:
      return "read_reply";
    case FrameKind::kDigestStep:
      return "digest";
    case FrameKind::kKeyDigests:
      return "key_digests";
    case FrameKind::kRepair:
      return "repair";
    case FrameKind::kFragment:
      return "fragment";
    case FrameKind::kDcBatch:
      return "dc_batch";
    case FrameKind::kDcAck:
      return "dc_ack";
  }
  return "unknown";
}

Status ReplicatorOptions::Validate() const {
  auto positive = [](double v) { return v > 0 && v < 1e9; };
  if (!positive(anti_entropy_interval)) {
    return Status::InvalidArgument("anti_entropy_interval must be > 0 seconds");
  }
  if (!positive(prune_interval)) return Status::InvalidArgument("prune_interval must be > 0");
  if (!positive(tombstone_ttl)) return Status::InvalidArgument("tombstone_ttl must be > 0");
  if (!positive(coordination_timeout)) {
    return Status::InvalidArgument("coordination_timeout must be > 0 seconds");
  }
  if (!positive(coordination_resend_interval)) {
    return Status::InvalidArgument("coordination_resend_interval must be > 0 seconds");
  }
  if (!positive(delta_flush_interval)) {
    return Status::InvalidArgument("delta_flush_interval must be > 0 seconds");
  }
  if (!positive(pruning_interval)) return Status::InvalidArgument("pruning_interval must be > 0");
  if (!(max_pruning_dissemination >= 0 && max_pruning_dissemination < 1e9)) {
    return Status::InvalidArgument("max_pruning_dissemination must be >= 0 seconds");
  }
  if (!positive(pruning_marker_ttl)) {
    return Status::InvalidArgument("pruning_marker_ttl must be > 0 seconds");
  }
  if (!(pruning_marker_ttl > max_pruning_dissemination)) {
    // A record let go of before it spread counts the removed replica twice; and every snapshot
    // would restore as stale (replica/stale_restore.h).
    return Status::InvalidArgument(
        "pruning_marker_ttl must be longer than max_pruning_dissemination");
  }
  if (!(expire_keys_after_inactivity >= 0 && expire_keys_after_inactivity < 1e9)) {
    return Status::InvalidArgument("expire_keys_after_inactivity must be >= 0 seconds (0: never)");
  }
  if (!positive(loss_repair_interval)) {
    return Status::InvalidArgument("loss_repair_interval must be > 0 seconds");
  }
  if (max_delta_size == 0) return Status::InvalidArgument("max_delta_size must be > 0 bytes");
  if (max_frame_size < 1024) return Status::InvalidArgument("max_frame_size must be >= 1024");
  if (max_reassembly_bytes < max_frame_size) {
    return Status::InvalidArgument("max_reassembly_bytes must be >= max_frame_size");
  }
  if (digest_tree_depth < 1 || digest_tree_depth > 5) {
    return Status::InvalidArgument("digest_tree_depth must be 1..5");
  }
  if (role && role->empty()) return Status::InvalidArgument("role must not be empty");
  if (!positive(dc_replication_interval)) {
    return Status::InvalidArgument("dc_replication_interval must be > 0 seconds");
  }
  if (!positive(dc_anti_entropy_interval)) {
    return Status::InvalidArgument("dc_anti_entropy_interval must be > 0 seconds");
  }
  if (!positive(dc_send_timeout)) return Status::InvalidArgument("dc_send_timeout must be > 0");
  if (max_dc_buffer_bytes < max_frame_size) {
    return Status::InvalidArgument("max_dc_buffer_bytes must be >= max_frame_size");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Impl: store

Replicator::Impl::Impl(NodeId self_id, ReplicaId replica_id, ReplicatorOptions opts, uint64_t seed)
    : self(self_id),
      replica(replica_id),
      options(std::move(opts)),
      rng(seed),
      store(options.digest_tree_depth, options.max_frame_size, metrics, events),
      expiry(store, options, metrics),
      anti_entropy(*this, store, options, metrics, rng),
      flush(store, options, metrics),
      pruner(store, options, replica, metrics),
      collector(store, options, replica, metrics),
      dc(*this, store, options, metrics),
      stale_restore(metrics),
      fragmenter(options, metrics),
      reassembler(options, metrics),
      // Request ids start at a random point below 2^62 per incarnation: never 0, never wrap.
      coordinator(*this, options, metrics, completions, (rng() >> 2) + 1) {
  flush.SetInterval(std::max<TimeMicros>(1, MicrosOf(options.delta_flush_interval)));
}

bool Replicator::Impl::MergeRemote(KeyedState& s, TimeMicros now) {
  if (store.IsDeleted(s.key)) return true;  // deleted here: deltas of the key are ignored
  // (Each wall-clock read costs: only with expiry on.)
  if (expiry.enabled() && !expiry.Admit(s, WallTime(now))) return true;  // expired: stays gone
  if (s.full && s.state.size() > kHeldCheckBytes && stale_restore.size() == 0 && store.Holds(s)) {
    ++metrics.states_held;  // a second peer's repair of a key just caught up, say
    return true;
  }
  const bool large = s.state.size() > kHeldCheckBytes;
  const size_t size = s.state.size();
  if (origin == Origin::kRemote && !large) dc.Relay(s);  // (a large one: its state once merged)
  auto decoded = DecodeAny(s.state);
  if (large) std::string().swap(s.state);  // decoded: not kept
  if (!decoded.ok()) {
    ++metrics.frames_malformed;
    return false;
  }
  if (origin == Origin::kPeer && dc.enabled()) {
    // A change made in this datacenter, for the others (a full state: as it is at the cut).
    if (s.full) {
      dc.AddWhole(s.key, size, WallTime(now));
    } else {
      dc.Add(s.key, *decoded, size, WallTime(now));
    }
  }
  if (s.full && stale_restore.size() != 0) stale_restore.NoteShown(s.key, *decoded);
  if (!MergeState(s.key, std::move(decoded).value(), s.pruning, now)) return false;
  // Digested now, while nothing else is held: a second peer's repair of the key is then
  // compared by its bytes' digest alone, without encoding the key while that copy is held (but
  // a set, whose digest is not of its encoding: KeyStore::Holds).
  if (large && s.full) store.RefreshDigestOf(s.key);
  if (large && origin == Origin::kRemote) dc.RelayWhole(s.key);
  if (expiry.enabled()) {
    expiry.Touch(s.key, static_cast<TimeMicros>(s.last_active_us), WallTime(now));
  }
  return true;
}

bool Replicator::Impl::MergeState(const std::string& name, AnyCrdt value,
                                  const internal::PruningMarkers& markers, TimeMicros now) {
  if (store.IsDeleted(name)) return true;
  const internal::PruningMarkers* held = store.MarkersOf(name);
  if (held == nullptr && markers.empty()) {
    if (!store.MergeValue(name, std::move(value))) return false;
    TakeBackQuarantined(name, now);
    return true;
  }
  internal::KeyEntry* e = store.FindKey(name);
  if (e != nullptr && e->type != value.type()) return store.MergeValue(name, std::move(value));
  internal::PruningMarkers joined = held != nullptr ? *held : internal::PruningMarkers{};
  const bool changed = internal::JoinMarkers(joined, markers);
  pruner.Admit(joined, now);            // takes nothing more from the removed replicas
  internal::MarkSeen(joined, replica);  // this replica holds them now
  if (changed && e != nullptr) {
    // A record learned here: this replica's own value is cleaned before anything joins it.
    std::optional<AnyCrdt> before;
    if (store.Subscribed(name)) before = e->value;
    internal::CleanWith(e->value, joined);
    store.MarkChanged(name, *e, before);
  }
  internal::CleanWith(value, joined);
  if (!store.MergeValue(name, std::move(value))) return false;
  if (held == nullptr || *held != joined) store.SetMarkers(name, std::move(joined));
  TakeBackQuarantined(name, now);
  return true;
}

void Replicator::Impl::TakeBackQuarantined(const std::string& name, TimeMicros now) {
  // A key this replica set aside when it learned it missed collected deletes: a peer holds it,
  // so it was not deleted; this replica's copy joins back.
  if (collector.quarantined_count() == 0) return;
  if (std::optional<AnyCrdt> mine = collector.TakeQuarantined(name)) {
    MergeState(name, std::move(*mine), {}, now);
  }
}

void Replicator::Impl::ReturnStale(TimeMicros now) {
  for (auto& k : stale_restore.TakeExpired(now, pruner.members())) {
    if (!k.shown && metrics.stale_catch_ups != 0) {
      // This replica also missed collected deletes, and no peer holds the key: deleted. Its
      // old snapshot record goes with the next write.
      ++metrics.keys_dropped_stale;
      store.GiveBack(k.name);
      continue;
    }
    MergeState(k.name, std::move(k.value), {}, now);
    if (expiry.enabled()) expiry.Touch(k.name, k.last_active, WallTime(now));
  }
}

TimeMicros Replicator::Impl::StampInterval() const {
  return std::max<TimeMicros>(
      MicrosOf(1.0), MicrosOf(options.pruning_marker_ttl - options.max_pruning_dissemination) / 8);
}

KeyedState Replicator::Impl::FullState(const std::string& name, const internal::KeyEntry& e) const {
  KeyedState s{name, EncodeAny(e.value), true, {}, 0};
  if (const internal::PruningMarkers* m = store.MarkersOf(name)) s.pruning = *m;
  return s;
}

bool Replicator::Impl::ApplyRemoteTombstone(const Tombstone& t) {
  if (t.dots.empty() && !store.IsDeleted(t.key)) {
    // From an earlier version, which had no delete dots: this replica deletes it with its own.
    Tombstone dotted = t;
    dotted.dots.push_back(collector.NextDot());
    return ApplyRemoteTombstone(dotted);
  }
  if (!collector.Admit(t.dots)) return true;  // collected here already: stays collected
  if (store.ApplyTombstone(t, /*publish=*/false) == internal::KeyStore::Deletion::kMistyped) {
    return false;
  }
  if (origin == Origin::kPeer) dc.AddTombstone(t.key, WallTime(0));
  if (origin == Origin::kRemote) dc.Relay(t);
  return true;
}

void Replicator::Impl::OnAdvert(NodeId from, ReplicaId from_replica,
                                const internal::DeleteAdvert& advert, TimeMicros now) {
  const internal::TombstoneCollector::Heard heard =
      collector.OnAdvert(from, from_replica, advert, now);
  // An unsure replica is sure once it has heard every member: it hears this one's advert now,
  // not at this one's next round with it (once per replica, so two unsure ones do not echo).
  if (advert.unsure && collector.FirstUnsureAdvertOf(from_replica)) anti_entropy.SyncWith(from);
  switch (heard) {
    case internal::TombstoneCollector::Heard::kQuarantined:
      // This replica missed collected deletes and set its keys aside: a round with every peer
      // brings back the keys they hold and tells them it has caught up.
      for (NodeId p : peers) anti_entropy.SyncWith(p);
      return;
    case internal::TombstoneCollector::Heard::kAdopted:
      anti_entropy.SyncWith(from);  // it hears that this replica caught up
      return;
    case internal::TombstoneCollector::Heard::kUnreadable:
      anti_entropy.SyncWith(from);  // it hears this replica's retired deletes
      return;
    case internal::TombstoneCollector::Heard::kNothingNew:
      if (collector.IsStale(from_replica)) anti_entropy.SyncWith(from);  // it learns what it missed
      return;
  }
}

void Replicator::Impl::SendTo(NodeId peer, internal::FrameBody body) {
  if (auto* r = std::get_if<internal::RepairMsg>(&body);
      r != nullptr && !r->entries.empty() && collector.WithholdsStatesFrom(peer)) {
    metrics.entries_withheld += r->entries.size();  // (tombstones go: they delete, never revive)
    r->entries.clear();
  }
  Send(peer, std::move(body));
}

void Replicator::Impl::Send(std::optional<NodeId> to, internal::FrameBody body) {
  if (expiry.enabled()) {  // every key state carries the key's activity
    internal::ForEachState(body, [&](KeyedState& s) { expiry.Stamp(s); });
  }
  if (options.log_data_size_exceeding != 0) NoteLargeStates(body);
  const FrameKind kind = internal::KindOf(body);
  internal::FrameRope bytes =
      internal::EncodeFrameRope(FrameMsg{self, std::move(body), replica}, options.max_frame_size);
  const int k = static_cast<int>(kind);
  const uint64_t copies = to ? 1 : peers.size();
  metrics.bytes_sent[k] += bytes.size() * copies;
  metrics.frames_sent[k] += copies;
  if (bytes.size() > options.max_frame_size) {  // one key alone is larger: in pieces, per peer
    auto frame = std::make_shared<const internal::FrameRope>(std::move(bytes));
    if (to) {
      fragmenter.Split(self, replica, *to, std::move(frame));
    } else {
      for (NodeId p : peers) fragmenter.Split(self, replica, p, frame);
    }
    return;
  }
  outgoing.push_back(OutgoingFrame{to, kind, std::move(bytes).Flatten()});
}

std::vector<NodeId> Replicator::Impl::Correspondents() const {
  std::vector<NodeId> out = peers;
  out.insert(out.end(), dc.remote_members().begin(), dc.remote_members().end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Replicator::Impl::NoteLargeStates(const internal::FrameBody& body) {
  auto note = [&](const KeyedState& s) {
    if (!s.full || s.state.size() <= options.log_data_size_exceeding) return;
    metrics.largest_state = std::max<uint64_t>(metrics.largest_state, s.state.size());
    if (large_reported.size() >= 10000 || !large_reported.insert(s.key).second) return;
    ++metrics.keys_large;
    large_keys.emplace_back(s.key, s.state.size());
  };
  internal::ForEachState(body, note);
}

void Replicator::Impl::ReceiveJoined(std::string whole, TimeMicros now) {
  const std::optional<FrameKind> kind = internal::PeekFrameKind(whole);
  if (!kind || *kind == FrameKind::kFragment) {
    ++metrics.frames_malformed;  // fragments of fragments: not something this replicator sends
    return;
  }
  auto decoded = internal::DecodeFrame(whole);
  const size_t size = whole.size();
  std::string().swap(whole);  // its key states are copies: released before they are decoded
  if (!decoded.ok()) {
    ++metrics.frames_malformed;
    return;
  }
  Dispatch(decoded.value(), size, now);
}

// ---------------------------------------------------------------------------------------------
// Impl: local requests

Result<RequestId> Replicator::Impl::Update(std::string_view key, CrdtType type,
                                           const Mutation& mutate, Consistency level,
                                           TimeMicros now, std::optional<double> timeout) {
  if (key.empty()) return Status::InvalidArgument("a key name must not be empty");
  std::string name(key);
  if (store.IsDeleted(name)) return Status::KeyDeleted("key '" + name + "' is deleted");
  internal::KeyEntry* entry = store.FindKey(name);
  if (entry != nullptr && entry->type != type) {
    return Status::TypeMismatch(TypeError(name, entry->type, type));
  }
  const bool subscribed = store.Subscribed(name);
  std::optional<AnyCrdt> before;
  Result<AnyCrdt> delta = Status::InvalidArgument("no mutation");
  const std::string* stored = nullptr;
  auto failed = [&](const Result<AnyCrdt>& d) {
    return !d.ok() ? d.status()
                   : Status::TypeMismatch("the mutation of key '" + name + "' returned " +
                                          CrdtTypeWithArticle(d->type()) + " delta");
  };
  if (entry == nullptr) {
    auto empty = AnyCrdt::Empty(type);
    if (!empty.ok()) return empty.status();
    AnyCrdt value = empty.value();
    delta = GuardedMutate(mutate, value);
    if (!delta.ok() || delta->type() != type) return failed(delta);  // nothing is stored
    if (subscribed) before = std::move(empty).value();
    std::tie(stored, entry) = store.AddKey(name, std::move(value));
    entry->unpublished = true;
  } else {
    if (subscribed) before = entry->value;
    delta = GuardedMutate(mutate, entry->value);
    if (!delta.ok() || delta->type() != type) {
      // What the mutation did before it failed stays applied, and no delta goes: the key is
      // digested again, so that anti-entropy carries it.
      store.MarkChanged(name, *entry, before);
      return failed(delta);
    }
  }
  internal::KeyEntry& e = *entry;
  if (dc.enabled()) dc.Add(name, *delta, 0, WallTime(now));
  // A coordinated write's delta, encoded before the delta moves into the flush. While a pruning
  // record of the key is not held everywhere, its changes go out whole (below).
  std::optional<std::string> coordinated;
  if (level != Consistency::kLocal && !pruner.NeedsFullState(name, now)) {
    coordinated = EncodeAny(*delta);
  }
  flush.AddDelta(name, e, std::move(delta).value(), now);
  e.written_epoch = collector.epoch();
  store.MarkChanged(stored != nullptr ? *stored : name, e, before);
  if (expiry.enabled()) {
    const TimeMicros wall = WallTime(now);
    expiry.Touch(name, wall, wall);
  }
  if (level == Consistency::kLocal) return RequestId{0};
  internal::WriteRequestMsg w;
  w.entry =
      coordinated ? KeyedState{name, std::move(*coordinated), false, {}, 0} : FullState(name, e);
  return coordinator.StartWrite(std::move(w), level, now, timeout);
}

Result<RequestId> Replicator::Impl::Delete(std::string_view key, CrdtType type, Consistency level,
                                           TimeMicros now, std::optional<double> timeout) {
  if (key.empty()) return Status::InvalidArgument("a key name must not be empty");
  std::string name(key);
  if (const auto* e = store.FindKey(name); e != nullptr && e->type != type) {
    return Status::TypeMismatch(TypeError(name, e->type, type));
  }
  Tombstone t{name, type, static_cast<uint64_t>(std::max<TimeMicros>(WallTime(now), 0)), {}};
  if (const internal::TombstoneEntry* known = store.FindTombstone(name)) {
    t.dots = known->dots;  // deleted already: a coordinated delete asks for the same deletes
  } else {
    t.dots.push_back(collector.NextDot());
    collector.Admit(t.dots);
  }
  switch (store.ApplyTombstone(t, /*publish=*/true)) {
    case internal::KeyStore::Deletion::kMistyped:
      return Status::TypeMismatch("key '" + name + "' is deleted as another type");
    case internal::KeyStore::Deletion::kAdded:
      flush.AddTombstone(name, now);
      dc.AddTombstone(name, WallTime(now));
      break;
    case internal::KeyStore::Deletion::kKnown:
      break;
  }
  if (level == Consistency::kLocal) return RequestId{0};
  internal::WriteRequestMsg w;
  w.tombstone = std::move(t);
  return coordinator.StartWrite(std::move(w), level, now, timeout);
}

Result<const AnyCrdt*> Replicator::Impl::Get(std::string_view key, CrdtType type) const {
  const std::string name(key);
  if (const auto* t = store.FindTombstone(name)) {
    if (t->type != type) return Status::TypeMismatch(TypeError(name, t->type, type));
    return static_cast<const AnyCrdt*>(nullptr);
  }
  const auto* e = store.FindKey(name);
  if (e == nullptr) return static_cast<const AnyCrdt*>(nullptr);
  if (e->type != type) return Status::TypeMismatch(TypeError(name, e->type, type));
  return &e->value;
}

// ---------------------------------------------------------------------------------------------
// Impl: coordinated requests, the store's side

// A peer's coordinated write: applied here, then acknowledged (or refused, with the reason).
void Replicator::Impl::OnWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now) {
  std::string error;
  bool deleted = false;
  if (m.entry) {
    if (store.IsDeleted(m.entry->key)) {
      error = "key '" + m.entry->key + "' is deleted";
      deleted = true;
    } else if (!MergeRemote(*m.entry, now)) {
      error = "key '" + m.entry->key + "' has another type here, or the delta is malformed";
    }
  } else if (!ApplyRemoteTombstone(*m.tombstone)) {
    error = "key '" + m.tombstone->key + "' has another type here";
  }
  Send(from, internal::WriteAckMsg{m.request_id, std::move(error), deleted});
}

void Replicator::Impl::OnDatacenterWrite(NodeId from, internal::WriteRequestMsg& m,
                                         TimeMicros now) {
  internal::WriteRequestMsg here = m;  // (before MergeRemote may take its state's bytes)
  here.datacenter = false;
  std::string error;
  bool deleted = false;
  if (m.entry && store.IsDeleted(m.entry->key)) {
    error = "key '" + m.entry->key + "' is deleted";
    deleted = true;
  } else if (m.entry ? !MergeRemote(*m.entry, now) : !ApplyRemoteTombstone(*m.tombstone)) {
    error = "key '" + (m.entry ? m.entry->key : m.tombstone->key) + "' has another type here";
  }
  RequestId id = 0;
  if (error.empty()) {
    id = coordinator.StartWrite(std::move(here), Consistency::kMajority, now, std::nullopt);
  }
  if (id == 0) {
    Send(from, internal::WriteAckMsg{m.request_id, std::move(error), deleted});
    return;
  }
  for_datacenters[id] = ForDatacenter{from, m.request_id, false, {}, CrdtType::kGCounter};
}

void Replicator::Impl::OnDatacenterRead(NodeId from, const internal::ReadRequestMsg& m,
                                        TimeMicros now) {
  const RequestId id =
      coordinator.StartRead(m.key, m.type, Consistency::kMajority, now, std::nullopt);
  if (id == 0) {
    OnRead(from, m);
    return;
  }
  for_datacenters[id] = ForDatacenter{from, m.request_id, true, m.key, m.type};
}

void Replicator::Impl::ForwardDcCompletions() {
  if (for_datacenters.empty()) return;
  std::erase_if(completions, [&](Completion& c) {
    auto it = for_datacenters.find(c.id);
    if (it == for_datacenters.end()) return false;
    const ForDatacenter f = std::move(it->second);
    for_datacenters.erase(it);
    if (c.status.code() == StatusCode::kTimeout) return true;
    if (f.is_read) {
      if (c.status.ok()) {
        OnRead(f.from, internal::ReadRequestMsg{f.request, f.key, f.type, true});
      } else {
        internal::ReadReplyMsg reply;
        reply.request_id = f.request;
        reply.error = c.status.message();
        Send(f.from, std::move(reply));
      }
    } else {
      Send(f.from, internal::WriteAckMsg{f.request, c.status.ok() ? "" : c.status.message(),
                                         c.status.code() == StatusCode::kKeyDeleted});
    }
    return true;
  });
}

// A peer's coordinated read: what this replica holds of the key.
void Replicator::Impl::OnRead(NodeId from, const internal::ReadRequestMsg& m) {
  internal::ReadReplyMsg reply;
  reply.request_id = m.request_id;
  if (const auto* t = store.FindTombstone(m.key)) {
    reply.tombstone = internal::KeyStore::ToTombstone(m.key, *t);
  } else if (const auto* k = store.FindKey(m.key)) {
    if (k->type != m.type) {
      reply.error = "key '" + m.key + "' holds " + CrdtTypeWithArticle(k->type) + " here";
    } else {
      reply.entry = FullState(m.key, *k);
    }
  }
  Send(from, std::move(reply));
}

void Replicator::Impl::CompleteRead(const std::string& key, CrdtType type,
                                    std::optional<Tombstone> tombstone,
                                    std::optional<AnyCrdt> merged,
                                    const internal::PruningMarkers& merged_pruning, Completion& c) {
  if (tombstone) {
    ApplyRemoteTombstone(*tombstone);
  } else if (merged) {
    // Write back what the peers know, so this replica now holds the merged value.
    MergeState(key, std::move(*merged), merged_pruning, 0);
  }
  c.deleted = store.IsDeleted(key);
  if (const auto* k = store.FindKey(key); !c.deleted && k != nullptr && k->type == type) {
    c.value = k->value;
  }
}

// ---------------------------------------------------------------------------------------------
// Impl: frames in, timers

void Replicator::Impl::Receive(std::string_view frame, TimeMicros now) {
  auto decoded = internal::DecodeFrame(frame);
  if (!decoded.ok()) {
    ++metrics.frames_malformed;
    return;
  }
  Dispatch(decoded.value(), frame.size(), now);
}

void Replicator::Impl::Dispatch(FrameMsg& f, size_t size, TimeMicros now) {
  if (f.from == self) return;  // our own broadcast
  const bool remote = std::find(peers.begin(), peers.end(), f.from) == peers.end();
  if (remote && !(dc.IsRemoteMember(f.from) && internal::CrossesDatacenters(f.body))) {
    ++metrics.frames_foreign;  // another role's, or a node not (or no longer) a member
    return;
  }
  if (pruner.IsRemoved(f.from_replica)) {
    ++metrics.frames_from_removed;  // a late frame of an incarnation that is gone for good
    return;
  }
  const int k = static_cast<int>(internal::KindOf(f.body));
  metrics.bytes_received[k] += size;
  ++metrics.frames_received[k];
  const NodeId from = f.from;
  if (auto* step = std::get_if<internal::DigestStepMsg>(&f.body);
      step && step->deletes && !remote) {
    OnAdvert(from, f.from_replica, *step->deletes, now);
  }
  const auto* batch = std::get_if<DeltaBatchMsg>(&f.body);
  origin = remote ? Origin::kRemote : batch && batch->relayed ? Origin::kRelayed : Origin::kPeer;
  // A replica that missed collected deletes (or, to a fresh store, may have) may hold keys
  // deleted here: its states are refused until it has caught up (its tombstones are fine).
  const bool refused = collector.RefusesStatesOf(from, f.from_replica);
  if (refused) RefuseStates(f.body);
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, DeltaBatchMsg>) {
          for (KeyedState& e : m.entries) {
            ++metrics.delta_receive_count;
            MergeRemote(e, now);
          }
          for (const Tombstone& t : m.tombstones) ApplyRemoteTombstone(t);
        } else if constexpr (std::is_same_v<M, internal::WriteRequestMsg>) {
          if (collector.unsure() && m.entry) {
            ++metrics.coordinated_deferred;  // the writer resends until this replica is sure
          } else if (m.datacenter && remote) {
            OnDatacenterWrite(from, m, now);
          } else if (refused && m.entry) {
            // Not acknowledged: the writer resends until it has caught up (or times out).
            ++metrics.entries_from_stale;
          } else {
            OnWrite(from, m, now);
          }
        } else if constexpr (std::is_same_v<M, internal::WriteAckMsg>) {
          coordinator.OnWriteAck(from, m);
        } else if constexpr (std::is_same_v<M, internal::ReadRequestMsg>) {
          if (collector.unsure()) {
            ++metrics.coordinated_deferred;  // the reader resends until this replica is sure
          } else if (m.datacenter && remote) {
            OnDatacenterRead(from, m, now);
          } else {
            OnRead(from, m);
          }
        } else if constexpr (std::is_same_v<M, internal::ReadReplyMsg>) {
          if (refused && m.entry) {
            // Not counted (an empty answer would pass for one that holds nothing): the reader
            // resends until the peer has caught up (or times out).
            ++metrics.entries_from_stale;
          } else {
            coordinator.OnReadReply(from, m);
          }
        } else if constexpr (std::is_same_v<M, internal::DigestStepMsg>) {
          if (stale_restore.size() != 0) {
            stale_restore.HeardFrom(now, 2 * MicrosOf(options.anti_entropy_interval));
          }
          anti_entropy.OnDigestStep(from, m);
        } else if constexpr (std::is_same_v<M, internal::KeyDigestsMsg>) {
          anti_entropy.OnKeyDigests(from, m, now);
        } else if constexpr (std::is_same_v<M, internal::RepairMsg>) {
          anti_entropy.OnRepair(from, m, now);
        } else if constexpr (std::is_same_v<M, internal::DcBatchMsg>) {
          for (KeyedState& e : m.entries) MergeRemote(e, now);
          for (const Tombstone& t : m.tombstones) ApplyRemoteTombstone(t);
          dc.Applied(from, m, size, WallTime(now));
        } else if constexpr (std::is_same_v<M, internal::DcAckMsg>) {
          dc.OnAck(from, m);
        } else {
          if (std::optional<std::string> whole = reassembler.Add(from, f.from_replica, m, now)) {
            ReceiveJoined(std::move(*whole), now);
          }
        }
      },
      f.body);
  origin = Origin::kHere;
  ForwardDcCompletions();
}

void Replicator::Impl::RefuseStates(internal::FrameBody& body) {
  auto refuse = [&](std::vector<KeyedState>& entries) {
    metrics.entries_from_stale += entries.size();
    entries.clear();
  };
  if (auto* b = std::get_if<DeltaBatchMsg>(&body)) refuse(b->entries);
  if (auto* r = std::get_if<internal::RepairMsg>(&body)) refuse(r->entries);
}

void Replicator::Impl::Tick(TimeMicros now) {
  if (!started) {
    started = true;
    flush.Start(now);
    anti_entropy.Start(now);
    pruner.Start(now + MicrosOf(options.pruning_interval));
    next_prune = now + MicrosOf(options.prune_interval);
  }
  flush.Tick(
      now, !peers.empty(),
      [&](const std::string& name) { return pruner.NeedsFullState(name, now); },
      [&](DeltaBatchMsg b) { Send(std::nullopt, std::move(b)); });
  pruner.Tick(now);
  if (stale_restore.size() != 0) {
    if (!expect_peers) stale_restore.WaitAlone(now, MicrosOf(options.max_pruning_dissemination));
    ReturnStale(now);
  }
  if (expiry.enabled()) expiry.Tick(now, WallTime(now));
  anti_entropy.Tick(now);
  if (now >= next_prune) {
    next_prune = now + MicrosOf(options.prune_interval);
    collector.Tick(now);
  }
  coordinator.Expire(now);
  reassembler.Expire(now);
  ForwardDcCompletions();
  dc.Tick(now);
  for (NodeId target : dc.TakeSyncs(now)) anti_entropy.StartRoundWith(target);
  fragmenter.Release(now, outgoing);
}

TimeMicros Replicator::Impl::NextDeadline() const {
  if (!started) return std::numeric_limits<TimeMicros>::min();
  TimeMicros t = std::min(
      {next_prune, anti_entropy.NextDeadline(), coordinator.NextDeadline(), pruner.NextDeadline()});
  t = std::min({t, flush.NextDeadline(), expiry.NextDeadline(), fragmenter.NextDeadline(),
                stale_restore.NextDeadline(), dc.NextDeadline()});
  return t;
}

uint64_t Replicator::Impl::StoreDigest() {
  store.RefreshDigests(internal::KeyStore::Refresh::kAll);
  return store.tree().root();
}

std::map<std::string, double> Replicator::Impl::NamedMetrics() const {
  const std::string p = "crdt.replicator.";
  std::map<std::string, double> m{
      {p + "store.size", static_cast<double>(store.keys().size())},
      {p + "merge.count", static_cast<double>(metrics.merge_count)},
      {p + "delta.publish.count", static_cast<double>(metrics.delta_publish_count)},
      {p + "delta.receive.count", static_cast<double>(metrics.delta_receive_count)},
      {p + "coordinated.write.count", static_cast<double>(metrics.coordinated_write_count)},
      {p + "coordinated.read.count", static_cast<double>(metrics.coordinated_read_count)},
      {p + "antientropy.count", static_cast<double>(metrics.antientropy_count)},
      {p + "antientropy.loss_repair.count", static_cast<double>(metrics.loss_repair_count)},
      {p + "antientropy.meeting.count", static_cast<double>(metrics.meeting_count)},
      {p + "antientropy.repairs.partial", static_cast<double>(metrics.repairs_partial)},
      {p + "antientropy.repairs.whole", static_cast<double>(metrics.repairs_whole)},
      {p + "antientropy.tree_depth", static_cast<double>(store.tree().depth())},  // a gauge
      {p + "tombstone.count", static_cast<double>(store.tombstones().size())},
      {p + "frames.dropped.malformed", static_cast<double>(metrics.frames_malformed)},
      {p + "frames.dropped.foreign", static_cast<double>(metrics.frames_foreign)},
      {p + "entries.dropped.mistyped", static_cast<double>(metrics.entries_mistyped)},
      {p + "entries.skipped.held", static_cast<double>(metrics.states_held)},
      {p + "frames.dropped.removed", static_cast<double>(metrics.frames_from_removed)},
      {p + "pruning.started.count", static_cast<double>(metrics.prunings_started)},
      {p + "pruning.performed.count", static_cast<double>(metrics.prunings_performed)},
      // Gauges: replicas known removed (with their targets), members' replicas known (0: some
      // member's is unknown, nothing is pruned), whether this node starts prunings, and the keys
      // that hold pruning markers.
      {p + "pruning.removed", static_cast<double>(pruner.removed_count())},
      {p + "pruning.marked.keys", static_cast<double>(store.markers().size())},
      {p + "pruning.members", static_cast<double>(pruner.member_count())},
      {p + "pruning.leader", pruner.leader() ? 1.0 : 0.0},
      {p + "tombstone.collected.count", static_cast<double>(metrics.tombstones_collected)},
      {p + "tombstones.dropped.collected",
       static_cast<double>(metrics.tombstones_collected_ignored)},
      {p + "entries.dropped.stale", static_cast<double>(metrics.entries_from_stale)},
      {p + "coordinated.deferred", static_cast<double>(metrics.coordinated_deferred)},
      {p + "entries.withheld", static_cast<double>(metrics.entries_withheld)},
      {p + "stale.catch_up.count", static_cast<double>(metrics.stale_catch_ups)},
      {p + "stale.keys.quarantined", static_cast<double>(metrics.keys_quarantined)},
      {p + "stale.keys.restored", static_cast<double>(metrics.keys_unquarantined)},
      {p + "stale.keys.dropped", static_cast<double>(metrics.keys_dropped_stale)},
      {p + "deletes.split_brain.count", static_cast<double>(metrics.deletes_split_brain)},
      {p + "deletes.lost.count", static_cast<double>(metrics.deletes_lost)},
      // Gauge: the replicas whose delete entries are left out of adverts.
      {p + "deletes.retired.replicas", static_cast<double>(collector.retired_count())},
      {p + "deletes.adverts.dropped.unreadable",
       static_cast<double>(metrics.delete_adverts_unreadable)},
      {p + "stale_snapshot.keys.set_aside", static_cast<double>(metrics.stale_snapshot_keys)},
      {p + "stale_snapshot.keys.cleaned", static_cast<double>(metrics.stale_snapshot_keys_cleaned)},
      {p + "stale_snapshot.keys.whole", static_cast<double>(metrics.stale_snapshot_keys_whole)},
      {p + "stale_snapshot.replicas.forgotten",
       static_cast<double>(metrics.stale_snapshot_replicas_forgotten)},
      {p + "keys.expired.count", static_cast<double>(metrics.keys_expired)},
      {p + "frames.fragmented.count", static_cast<double>(metrics.frames_fragmented)},
      {p + "frames.dropped.fragmented", static_cast<double>(metrics.fragmented_dropped)},
      {p + "keys.large.count", static_cast<double>(metrics.keys_large)},
      {p + "keys.large.max_bytes", static_cast<double>(metrics.largest_state)},
      {p + "fragments.held_bytes", static_cast<double>(reassembler.held_bytes())},
      {p + "entries.dropped.expired", static_cast<double>(metrics.entries_expired)},
  };
  if (dc.enabled() || !dc.datacenter().empty()) dc.AddMetrics(m, wall_clock ? wall_clock() : 0);
  for (int k = 0; k < kFrameKinds; ++k) {
    const std::string kind = FrameKindName(static_cast<FrameKind>(k));
    m[p + "bytes.sent." + kind] = static_cast<double>(metrics.bytes_sent[k]);
    m[p + "bytes.received." + kind] = static_cast<double>(metrics.bytes_received[k]);
    m[p + "frames.sent." + kind] = static_cast<double>(metrics.frames_sent[k]);
    m[p + "frames.received." + kind] = static_cast<double>(metrics.frames_received[k]);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Replicator: the public face

Replicator::Replicator(NodeId self, ReplicaId replica, ReplicatorOptions options, uint64_t seed)
    : impl_(std::make_unique<Impl>(self, replica, std::move(options), seed)) {}
Replicator::~Replicator() = default;

NodeId Replicator::node_id() const { return impl_->self; }
ReplicaId Replicator::replica_id() const { return impl_->replica; }
const ReplicatorOptions& Replicator::options() const { return impl_->options; }
void Replicator::SetPeers(std::vector<NodeId> peers) {
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  std::erase(peers, impl_->self);
  impl_->anti_entropy.KeepOnly(peers);
  impl_->collector.KeepPeers(peers);
  impl_->peers = std::move(peers);
  impl_->fragmenter.KeepOnly(impl_->Correspondents());
  impl_->coordinator.OnMembershipChange();
  impl_->ForwardDcCompletions();
}
void Replicator::SetReplicaCount(size_t n) {
  impl_->replica_count = std::max<size_t>(n, 1);
  impl_->coordinator.OnMembershipChange();
  impl_->ForwardDcCompletions();
}
size_t Replicator::replica_count() const {
  return std::max(impl_->replica_count, impl_->peers.size() + 1);
}
void Replicator::SetMemberReplicas(std::vector<ReplicaId> replicas) {
  impl_->pruner.SetMembers(std::move(replicas));
  impl_->collector.SetMembers(impl_->pruner.members());
}
void Replicator::ExpectPeers(bool expect) { impl_->expect_peers = expect; }
void Replicator::SetDatacenters(std::string self, std::vector<RemoteDatacenter> remotes,
                                bool gateway, TimeMicros now) {
  impl_->dc.Configure(std::move(self), std::move(remotes), gateway, now);
  impl_->fragmenter.KeepOnly(impl_->Correspondents());
  impl_->coordinator.OnMembershipChange();  // a datacenter reachable now is asked
  impl_->ForwardDcCompletions();
}
const std::string& Replicator::datacenter() const { return impl_->dc.datacenter(); }
std::vector<std::pair<std::string, TimeMicros>> Replicator::DatacenterAckedAges(
    TimeMicros now) const {
  return impl_->dc.AckedAges(now);
}
void Replicator::TrimDatacenterBuffers(const std::vector<std::pair<std::string, TimeMicros>>& acked,
                                       TimeMicros now) {
  impl_->dc.Trim(acked, now);
}
void Replicator::SetPruningLeader(bool leader) { impl_->pruner.SetLeader(leader); }
void Replicator::RemoveReplica(ReplicaId removed, TimeMicros now) {
  impl_->pruner.Remove(removed, now);
}
void Replicator::SetWallClock(std::function<TimeMicros()> wall) {
  impl_->wall_clock = std::move(wall);
}
TimeMicros Replicator::WallTime(TimeMicros now) const { return impl_->WallTime(now); }
const std::vector<NodeId>& Replicator::peers() const { return impl_->peers; }

Result<RequestId> Replicator::Update(std::string_view key, CrdtType type, const Mutation& mutate,
                                     Consistency level, TimeMicros now,
                                     std::optional<double> timeout) {
  return impl_->Update(key, type, mutate, level, now, timeout);
}
Result<RequestId> Replicator::Delete(std::string_view key, CrdtType type, Consistency level,
                                     TimeMicros now, std::optional<double> timeout) {
  return impl_->Delete(key, type, level, now, timeout);
}
Result<const AnyCrdt*> Replicator::Get(std::string_view key, CrdtType type) const {
  return impl_->Get(key, type);
}
Result<RequestId> Replicator::Read(std::string_view key, CrdtType type, Consistency level,
                                   TimeMicros now, std::optional<double> timeout) {
  if (key.empty()) return Status::InvalidArgument("a key name must not be empty");
  if (auto local = impl_->Get(key, type); !local.ok()) return local.status();
  return impl_->coordinator.StartRead(key, type, level, now, timeout);
}
bool Replicator::IsDeleted(std::string_view key) const {
  return impl_->store.IsDeleted(std::string(key));
}
std::vector<std::pair<std::string, CrdtType>> Replicator::Keys() const {
  std::vector<std::pair<std::string, CrdtType>> out;
  out.reserve(impl_->store.keys().size());
  for (const auto& [name, e] : impl_->store.keys()) out.emplace_back(name, e.type);
  std::sort(out.begin(), out.end());
  return out;
}
void Replicator::Subscribe(std::string_view key) { impl_->store.Subscribe(std::string(key)); }
void Replicator::Unsubscribe(std::string_view key) { impl_->store.Unsubscribe(std::string(key)); }
void Replicator::TrackChanges() { impl_->store.TrackChanges(); }

std::vector<Replicator::SnapshotChange> Replicator::TakeChanges() {
  Impl& d = *impl_;
  const internal::KeyStore& store = d.store;
  const std::set<std::string> changed = d.store.TakeChanged();
  std::vector<SnapshotChange> out;
  out.reserve(changed.size() + 1);
  // The deletes record first: a crash between batches cannot happen (one batch), but a reader
  // of the records sees what the tombstones beside it rely on. It carries the stamp, the wall
  // time of a write, rewritten every StampInterval whether anything changed or not, so that a
  // restart can tell how long the node was away (replica/stale_restore.h); a stamp up to that
  // much older than the records only makes the restart more careful. While keys of a stale
  // snapshot are set aside, their old records stay, and so does the old stamp.
  const TimeMicros wall = d.wall_clock ? d.wall_clock() : 0;
  const bool restamp = wall > 0 && d.stale_restore.size() == 0 &&
                       (d.snapshot_stamp == 0 ||
                        wall - static_cast<TimeMicros>(d.snapshot_stamp) >= d.StampInterval());
  if (std::optional<internal::DeletesRecord> deletes = d.collector.TakeRecord(restamp)) {
    if (restamp) d.snapshot_stamp = static_cast<uint64_t>(wall);
    deletes->written_at_us = d.snapshot_stamp;
    out.emplace_back(std::string(internal::kDeletesRecord),
                     internal::EncodeDeletesRecord(*deletes));
  }
  for (const std::string& key : changed) {
    if (const auto* t = store.FindTombstone(key)) {
      out.emplace_back(key,
                       internal::EncodeTombstoneRecord(internal::KeyStore::ToTombstone(key, *t)));
    } else if (const auto* k = store.FindKey(key)) {
      out.emplace_back(key,
                       internal::EncodeStateRecord(k->value, store.MarkersOf(key),
                                                   static_cast<uint64_t>(store.ActivityOf(key))));
    } else {
      out.emplace_back(key, std::string());
    }
  }
  return out;
}

void Replicator::ReturnChanges(const std::vector<SnapshotChange>& unwritten) {
  for (const auto& [key, bytes] : unwritten) {
    if (key == internal::kDeletesRecord) {
      impl_->collector.GiveBackRecord();
    } else {
      impl_->store.GiveBack(key);
    }
  }
}

Status Replicator::Restore(const std::vector<SnapshotChange>& records) {
  Impl& d = *impl_;
  std::vector<internal::Record> decoded;
  decoded.reserve(records.size());
  for (const auto& [key, bytes] : records) {
    auto r = internal::DecodeRecord(key, bytes);
    if (!r.ok()) return r.status();
    decoded.push_back(std::move(r).value());
  }
  if (!records.empty()) d.collector.NoteRestored();  // the store now holds state from before
  // The deletes first: the tombstones beside them are checked against its floor.
  for (auto& r : decoded) {
    if (auto* deletes = std::get_if<internal::DeletesRecord>(&r)) {
      d.snapshot_stamp = deletes->written_at_us;
      if (d.wall_clock && !d.restoring_stale &&
          internal::StaleRestore::IsStale(deletes->written_at_us, d.wall_clock(), d.options)) {
        d.restoring_stale = true;
        ++d.metrics.stale_snapshots;
      }
      d.collector.Restore(std::move(*deletes));
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (std::holds_alternative<internal::DeletesRecord>(decoded[i])) continue;
    if (auto* t = std::get_if<internal::Tombstone>(&decoded[i])) {
      d.ApplyRemoteTombstone(*t);
    } else {
      auto& state = std::get<internal::StateRecord>(decoded[i]);
      if (d.restoring_stale) {  // its markers are long gone everywhere else
        internal::CleanWith(state.value, state.pruning);
        d.stale_restore.SetAside(records[i].first, std::move(state.value),
                                 static_cast<TimeMicros>(state.last_active_us));
        continue;
      }
      d.MergeState(records[i].first, std::move(state.value), state.pruning, 0);
      d.expiry.Touch(records[i].first, static_cast<TimeMicros>(state.last_active_us),
                     d.WallTime(0));
    }
  }
  d.store.TakeChanged();  // what was just read is already in the store
  d.collector.TakeRecord();
  return Status::Ok();
}

void Replicator::Receive(std::string_view frame, TimeMicros now) { impl_->Receive(frame, now); }
void Replicator::Tick(TimeMicros now) { impl_->Tick(now); }
void Replicator::RepairFrom(NodeId peer, TimeMicros) { impl_->anti_entropy.RepairFrom(peer); }
void Replicator::SyncWith(NodeId peer) { impl_->anti_entropy.SyncWith(peer); }
void Replicator::SetDeltaFlushInterval(double seconds) {
  if (!(seconds > 0 && seconds < 1e9)) return;
  impl_->flush.SetInterval(std::max<TimeMicros>(1, MicrosOf(seconds)));
}
double Replicator::delta_flush_interval() const {
  return static_cast<double>(impl_->flush.interval()) / 1e6;
}
TimeMicros Replicator::NextDeadline() const { return impl_->NextDeadline(); }
std::vector<OutgoingFrame> Replicator::TakeOutgoing() { return std::exchange(impl_->outgoing, {}); }
void Replicator::ReturnRefused(OutgoingFrame frame, TimeMicros now) {
  if (frame.kind == FrameKind::kFragment) impl_->fragmenter.Refused(std::move(frame), now);
}
std::vector<std::pair<std::string, size_t>> Replicator::TakeLargeKeys() {
  return std::exchange(impl_->large_keys, {});
}
std::vector<ReplicaEvent> Replicator::TakeEvents() { return std::exchange(impl_->events, {}); }
std::vector<Completion> Replicator::TakeCompletions() {
  return std::exchange(impl_->completions, {});
}
const ReplicatorMetrics& Replicator::metrics() const { return impl_->metrics; }
std::map<std::string, double> Replicator::NamedMetrics() const { return impl_->NamedMetrics(); }
uint64_t Replicator::StoreDigest() { return impl_->StoreDigest(); }
size_t Replicator::tombstone_count() const { return impl_->store.tombstones().size(); }
std::vector<PruningRecord> Replicator::PruningRecords(std::string_view key) const {
  std::vector<PruningRecord> out;
  if (const internal::PruningMarkers* m = impl_->store.MarkersOf(std::string(key))) {
    for (const internal::PruningMarker& marker : *m) {
      if (marker.performed) out.push_back(*marker.performed);
    }
  }
  return out;
}

}  // namespace convergent
