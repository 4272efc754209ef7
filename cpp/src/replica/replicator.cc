// The replicator's store, local requests, delta batching, frame dispatch and answers to the
// peers' coordinated requests. Anti-entropy is in anti_entropy.cc; the requests this node
// coordinates are its Coordinator's (coordinator.cc).
#include "convergent/replicator.h"

// Header-only xxHash: no library to link (for us or for consumers of the static library).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
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

uint64_t TombstoneDigest(uint64_t key_hash, CrdtType type) {
  static constexpr char kTag[] = "tombstone";
  return XXH64(kTag, sizeof kTag - 1, key_hash ^ static_cast<uint64_t>(type));
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
  if (!positive(loss_repair_interval)) {
    return Status::InvalidArgument("loss_repair_interval must be > 0 seconds");
  }
  if (max_delta_size == 0) return Status::InvalidArgument("max_delta_size must be > 0 bytes");
  if (max_frame_size < 1024) return Status::InvalidArgument("max_frame_size must be >= 1024");
  if (digest_tree_depth < 1 || digest_tree_depth > 5) {
    return Status::InvalidArgument("digest_tree_depth must be 1..5");
  }
  if (role && role->empty()) return Status::InvalidArgument("role must not be empty");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Impl: store

Replicator::Impl::Impl(NodeId self_id, ReplicaId replica_id, ReplicatorOptions opts, uint64_t seed)
    : self(self_id),
      replica(replica_id),
      options(std::move(opts)),
      rng(seed),
      leaf_members(size_t{1} << (4 * options.digest_tree_depth)),
      tree(options.digest_tree_depth),
      // Request ids start at a random point below 2^62 per incarnation: never 0, never wrap.
      coordinator(*this, options, metrics, completions, (rng() >> 2) + 1) {
  flush_interval = std::max<TimeMicros>(1, Micros(options.delta_flush_interval));
}

uint64_t Replicator::Impl::KeyHash(std::string_view key) const {
  return XXH64(key.data(), key.size(), 0);
}

size_t NameHash::operator()(const std::string& s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

namespace {
bool NameLess(const std::string* a, const std::string& b) { return *a < b; }
}  // namespace

void Replicator::Impl::LeafInsert(uint64_t key_hash, const std::string* name) {
  std::vector<const std::string*>& leaf = leaf_members[tree.LeafOf(key_hash)];
  auto at = std::lower_bound(leaf.begin(), leaf.end(), *name, NameLess);
  if (at != leaf.end() && **at == *name) {
    *at = name;  // the same name, now held by another map
  } else {
    leaf.insert(at, name);
  }
}

void Replicator::Impl::LeafErase(uint64_t key_hash, const std::string& name) {
  std::vector<const std::string*>& leaf = leaf_members[tree.LeafOf(key_hash)];
  auto at = std::lower_bound(leaf.begin(), leaf.end(), name, NameLess);
  if (at != leaf.end() && **at == name) leaf.erase(at);
}

void Replicator::Impl::MarkChanged(const std::string& key, KeyEntry& e,
                                   const std::optional<AnyCrdt>& before) {
  if (!e.digest_dirty) {
    e.digest_dirty = true;
    dirty_digests.push_back(key);
  }
  if (track_changes) changed.insert(key);
  if (before && !before->SameValue(e.value)) {
    events.push_back({ReplicaEvent::Kind::kChanged, key, e.type, e.value});
  }
}

bool Replicator::Impl::MergeRemote(const KeyedState& s, TimeMicros) {
  if (tombstones.count(s.key)) return true;  // deleted here: deltas of the key are ignored
  auto decoded = DecodeAny(s.state);
  if (!decoded.ok()) {
    ++metrics.frames_malformed;
    return false;
  }
  return MergeValue(s.key, std::move(decoded).value());
}

bool Replicator::Impl::MergeValue(const std::string& key, AnyCrdt value) {
  if (tombstones.count(key)) return true;
  auto it = keys.find(key);
  if (it != keys.end() && it->second.type != value.type()) {
    ++metrics.entries_mistyped;
    return false;
  }
  ++metrics.merge_count;
  const bool subscribed = subscriptions.count(key) != 0;
  std::optional<AnyCrdt> before;
  if (it == keys.end()) {
    const CrdtType type = value.type();
    if (subscribed) before = *AnyCrdt::Empty(type);
    KeyEntry e{std::move(value), KeyHash(key), 0, kNoPending, type, false};
    it = keys.emplace(key, std::move(e)).first;
    LeafInsert(it->second.key_hash, &it->first);
  } else {
    if (subscribed) before = it->second.value;
    it->second.value.Join(value);  // types checked above
  }
  MarkChanged(it->first, it->second, before);
  return true;
}

bool Replicator::Impl::ApplyTombstone(const Tombstone& t, bool publish) {
  if (auto it = tombstones.find(t.key); it != tombstones.end()) {
    if (it->second.type != t.type) {
      ++metrics.entries_mistyped;
      return false;
    }
    it->second.deleted_at = std::min<TimeMicros>(it->second.deleted_at, t.deleted_at_us);
    return true;
  }
  const uint64_t hash = KeyHash(t.key);
  if (auto it = keys.find(t.key); it != keys.end()) {
    if (it->second.type != t.type) {
      ++metrics.entries_mistyped;
      return false;
    }
    if (it->second.digest != 0) tree.Toggle(hash, it->second.digest);
    LeafErase(hash, it->first);
    keys.erase(it);  // its pending delta and dirty digest go with it (skipped by name later)
  }
  TombstoneEntry tomb{t.type, static_cast<TimeMicros>(t.deleted_at_us), hash,
                      TombstoneDigest(hash, t.type), publish};
  tree.Toggle(hash, tomb.digest);
  LeafInsert(hash, &tombstones.emplace(t.key, tomb).first->first);
  if (track_changes) changed.insert(t.key);
  if (publish) pending.push_back(PendingDelta{t.key, std::nullopt});
  if (subscriptions.count(t.key)) {
    events.push_back({ReplicaEvent::Kind::kDeleted, t.key, t.type, AnyCrdt()});
  }
  return true;
}

void Replicator::Impl::Send(std::optional<NodeId> to, internal::FrameBody body) {
  const FrameKind kind = internal::KindOf(body);
  std::string bytes = internal::EncodeFrame(FrameMsg{self, std::move(body)});
  const int k = static_cast<int>(kind);
  const uint64_t copies = to ? 1 : peers.size();
  metrics.bytes_sent[k] += bytes.size() * copies;
  metrics.frames_sent[k] += copies;
  outgoing.push_back(OutgoingFrame{to, kind, std::move(bytes)});
}

// ---------------------------------------------------------------------------------------------
// Impl: local requests

Result<RequestId> Replicator::Impl::Update(std::string_view key, CrdtType type,
                                           const Mutation& mutate, Consistency level,
                                           TimeMicros now, std::optional<double> timeout) {
  std::string name(key);
  if (auto t = tombstones.find(name); t != tombstones.end()) {
    return Status::KeyDeleted("key '" + name + "' is deleted");
  }
  auto it = keys.find(name);
  if (it != keys.end() && it->second.type != type) {
    return Status::TypeMismatch(TypeError(name, it->second.type, type));
  }
  const bool subscribed = subscriptions.count(name) != 0;
  std::optional<AnyCrdt> before;
  Result<AnyCrdt> delta = Status::InvalidArgument("no mutation");
  if (it == keys.end()) {
    auto empty = AnyCrdt::Empty(type);
    if (!empty.ok()) return empty.status();
    AnyCrdt value = empty.value();
    delta = GuardedMutate(mutate, value);
    if (!delta.ok()) return delta.status();
    if (subscribed) before = std::move(empty).value();
    KeyEntry e{std::move(value), KeyHash(name), 0, kNoPending, type, false};
    it = keys.emplace(name, std::move(e)).first;
    LeafInsert(it->second.key_hash, &it->first);
  } else {
    if (subscribed) before = it->second.value;
    delta = GuardedMutate(mutate, it->second.value);
    if (!delta.ok()) return delta.status();
  }
  KeyEntry& e = it->second;
  if (delta->type() != type) {
    return Status::TypeMismatch("the mutation of key '" + name + "' returned " +
                                CrdtTypeWithArticle(delta->type()) + " delta");
  }
  if (e.pending != kNoPending) {
    pending[e.pending].delta->Join(*delta);
  } else {
    if (pending.empty()) next_flush = now + flush_interval;
    e.pending = static_cast<uint32_t>(pending.size());
    pending.push_back(PendingDelta{name, *delta});
  }
  MarkChanged(it->first, e, before);
  if (level == Consistency::kLocal) return RequestId{0};
  internal::WriteRequestMsg w;
  w.entry = KeyedState{name, EncodeAny(*delta), false};
  return coordinator.StartWrite(std::move(w), level, now, timeout);
}

Result<RequestId> Replicator::Impl::Delete(std::string_view key, CrdtType type, Consistency level,
                                           TimeMicros now, std::optional<double> timeout) {
  std::string name(key);
  if (auto it = keys.find(name); it != keys.end() && it->second.type != type) {
    return Status::TypeMismatch(TypeError(name, it->second.type, type));
  }
  Tombstone t{name, type, static_cast<uint64_t>(std::max<TimeMicros>(WallTime(now), 0))};
  const bool none_pending = pending.empty();
  if (!ApplyTombstone(t, /*publish=*/true)) {
    return Status::TypeMismatch("key '" + name + "' is deleted as another type");
  }
  if (none_pending && !pending.empty()) next_flush = now + flush_interval;
  if (level == Consistency::kLocal) return RequestId{0};
  internal::WriteRequestMsg w;
  w.tombstone = std::move(t);
  return coordinator.StartWrite(std::move(w), level, now, timeout);
}

Result<const AnyCrdt*> Replicator::Impl::Get(std::string_view key, CrdtType type) const {
  const std::string name(key);
  if (auto t = tombstones.find(name); t != tombstones.end()) {
    if (t->second.type != type) return Status::TypeMismatch(TypeError(name, t->second.type, type));
    return static_cast<const AnyCrdt*>(nullptr);
  }
  auto it = keys.find(name);
  if (it == keys.end()) return static_cast<const AnyCrdt*>(nullptr);
  if (it->second.type != type) return Status::TypeMismatch(TypeError(name, it->second.type, type));
  return &it->second.value;
}

// ---------------------------------------------------------------------------------------------
// Impl: coordinated requests, the store's side

// A peer's coordinated write: applied here, then acknowledged (or refused, with the reason).
void Replicator::Impl::OnWrite(NodeId from, internal::WriteRequestMsg& m, TimeMicros now) {
  std::string error;
  bool deleted = false;
  if (m.entry) {
    if (tombstones.count(m.entry->key)) {
      error = "key '" + m.entry->key + "' is deleted";
      deleted = true;
    } else if (!MergeRemote(*m.entry, now)) {
      error = "key '" + m.entry->key + "' has another type here, or the delta is malformed";
    }
  } else if (!ApplyTombstone(*m.tombstone, /*publish=*/false)) {
    error = "key '" + m.tombstone->key + "' has another type here";
  }
  Send(from, internal::WriteAckMsg{m.request_id, std::move(error), deleted});
}

// A peer's coordinated read: what this replica holds of the key.
void Replicator::Impl::OnRead(NodeId from, const internal::ReadRequestMsg& m) {
  internal::ReadReplyMsg reply;
  reply.request_id = m.request_id;
  if (auto t = tombstones.find(m.key); t != tombstones.end()) {
    reply.tombstone = Tombstone{m.key, t->second.type, static_cast<uint64_t>(t->second.deleted_at)};
  } else if (auto k = keys.find(m.key); k != keys.end()) {
    if (k->second.type != m.type) {
      reply.error = "key '" + m.key + "' holds " + CrdtTypeWithArticle(k->second.type) + " here";
    } else {
      reply.entry = KeyedState{m.key, EncodeAny(k->second.value), true};
    }
  }
  Send(from, std::move(reply));
}

void Replicator::Impl::CompleteRead(const std::string& key, CrdtType type,
                                    std::optional<Tombstone> tombstone,
                                    std::optional<AnyCrdt> merged, Completion& c) {
  if (tombstone) {
    ApplyTombstone(*tombstone, /*publish=*/false);
  } else if (merged) {
    // Write back what the peers know, so this replica now holds the merged value.
    MergeValue(key, std::move(*merged));
  }
  c.deleted = tombstones.count(key) != 0;
  if (auto k = keys.find(key); !c.deleted && k != keys.end() && k->second.type == type) {
    c.value = k->second.value;
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
  FrameMsg& f = decoded.value();
  if (f.from == self) return;  // our own broadcast
  if (std::find(peers.begin(), peers.end(), f.from) == peers.end()) {
    ++metrics.frames_foreign;  // another role's, or a node not (or no longer) a member
    return;
  }
  const int k = static_cast<int>(internal::KindOf(f.body));
  metrics.bytes_received[k] += frame.size();
  ++metrics.frames_received[k];
  const NodeId from = f.from;
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, DeltaBatchMsg>) {
          for (const KeyedState& e : m.entries) {
            ++metrics.delta_receive_count;
            MergeRemote(e, now);
          }
          for (const Tombstone& t : m.tombstones) ApplyTombstone(t, /*publish=*/false);
        } else if constexpr (std::is_same_v<M, internal::WriteRequestMsg>) {
          OnWrite(from, m, now);
        } else if constexpr (std::is_same_v<M, internal::WriteAckMsg>) {
          coordinator.OnWriteAck(from, m);
        } else if constexpr (std::is_same_v<M, internal::ReadRequestMsg>) {
          OnRead(from, m);
        } else if constexpr (std::is_same_v<M, internal::ReadReplyMsg>) {
          coordinator.OnReadReply(from, m);
        } else if constexpr (std::is_same_v<M, internal::DigestStepMsg>) {
          OnDigestStep(from, m);
        } else if constexpr (std::is_same_v<M, internal::KeyDigestsMsg>) {
          OnKeyDigests(from, m);
        } else {
          OnRepair(from, m, now);
        }
      },
      f.body);
}

namespace {

// Builds the delta batches of the pending keys, frame by frame.
// Splits a flush into delta batches that each encode within max_frame_size (with room for the
// frame's and the node's headers, kFrameOverhead): a batch is sent before an entry that would
// take it over. Only an entry that alone is larger makes a larger frame.
class BatchBuilder {
 public:
  BatchBuilder(size_t max_frame, std::function<void(DeltaBatchMsg)> emit)
      : budget_(FrameBudget(max_frame)), emit_(std::move(emit)) {}
  void Add(KeyedState s) {
    MakeRoom(EntryBound(s));
    batch_.entries.push_back(std::move(s));
  }
  void Add(Tombstone t) {
    MakeRoom(TombstoneBound(t));
    batch_.tombstones.push_back(std::move(t));
  }
  void Finish() {
    if (!batch_.entries.empty() || !batch_.tombstones.empty()) emit_(std::move(batch_));
    batch_ = {};
    bytes_ = 0;
  }

 private:
  void MakeRoom(size_t entry) {
    if (bytes_ > 0 && bytes_ + entry > budget_) Finish();
    bytes_ += entry;
  }
  size_t budget_;
  std::function<void(DeltaBatchMsg)> emit_;
  DeltaBatchMsg batch_;
  size_t bytes_ = 0;
};

}  // namespace

size_t FrameBudget(size_t max_frame_size) {
  return max_frame_size > kFrameOverhead ? max_frame_size - kFrameOverhead : 1;
}

void Replicator::Impl::Tick(TimeMicros now) {
  if (!started) {
    started = true;
    next_flush = now + flush_interval;
    // Nodes start their rounds at different offsets so they do not all gossip at once.
    std::uniform_real_distribution<double> offset(0.0, options.anti_entropy_interval);
    next_anti_entropy = now + Micros(offset(rng));
    next_prune = now + Micros(options.prune_interval);
  }
  if (now >= next_flush) {
    next_flush = now + flush_interval;
    BatchBuilder batches(options.max_frame_size,
                         [&](DeltaBatchMsg b) { Send(std::nullopt, std::move(b)); });
    for (uint32_t i = 0; i < pending.size(); ++i) {
      const std::string& name = pending[i].name;
      if (auto it = keys.find(name);
          pending[i].delta && it != keys.end() && it->second.pending == i) {
        KeyEntry& e = it->second;
        if (!peers.empty()) {
          std::string bytes = EncodeAny(*pending[i].delta);
          const bool full = bytes.size() > options.max_delta_size;
          if (full) bytes = EncodeAny(e.value);
          ++metrics.delta_publish_count;
          batches.Add(KeyedState{name, std::move(bytes), full});
        }
        e.pending = kNoPending;
      } else if (auto t = tombstones.find(name); t != tombstones.end() && t->second.pending) {
        t->second.pending = false;
        if (!peers.empty()) {
          batches.Add(Tombstone{name, t->second.type, static_cast<uint64_t>(t->second.deleted_at)});
        }
      }
    }
    batches.Finish();
    ReleaseIfLarge(pending);
  }
  if (now >= next_anti_entropy) {
    next_anti_entropy = now + Micros(options.anti_entropy_interval);
    StartAntiEntropy(now);
  }
  for (NodeId peer : std::exchange(meetings, {})) {
    if (std::find(peers.begin(), peers.end(), peer) == peers.end()) continue;
    ++metrics.meeting_count;
    StartRound(peer);
  }
  RunLossRepairs(now);
  if (now >= next_prune) {
    next_prune = now + Micros(options.prune_interval);
    const TimeMicros ttl = Micros(options.tombstone_ttl);
    const TimeMicros wall = WallTime(now);
    for (auto it = tombstones.begin(); it != tombstones.end();) {
      if (wall - it->second.deleted_at < ttl) {
        ++it;
        continue;
      }
      tree.Toggle(it->second.key_hash, it->second.digest);
      LeafErase(it->second.key_hash, it->first);
      if (track_changes) changed.insert(it->first);
      it = tombstones.erase(it);
    }
  }
  coordinator.Expire(now);
}

TimeMicros Replicator::Impl::NextDeadline() const {
  if (!started) return std::numeric_limits<TimeMicros>::min();
  TimeMicros t = std::min(next_anti_entropy, next_prune);
  if (!pending.empty()) t = std::min(t, next_flush);
  if (!meetings.empty()) return std::numeric_limits<TimeMicros>::min();
  t = std::min(t, coordinator.NextDeadline());
  const TimeMicros spacing = Micros(options.loss_repair_interval);
  for (const auto& [peer, l] : loss_repairs) {
    if (l.waiting)
      t = std::min(t, l.started ? l.last + spacing : std::numeric_limits<TimeMicros>::min());
  }
  return t;
}

uint64_t Replicator::Impl::StoreDigest() {
  RefreshDigests();
  return tree.root();
}

std::map<std::string, double> Replicator::Impl::NamedMetrics() const {
  const std::string p = "crdt.replicator.";
  std::map<std::string, double> m{
      {p + "store.size", static_cast<double>(keys.size())},
      {p + "merge.count", static_cast<double>(metrics.merge_count)},
      {p + "delta.publish.count", static_cast<double>(metrics.delta_publish_count)},
      {p + "delta.receive.count", static_cast<double>(metrics.delta_receive_count)},
      {p + "coordinated.write.count", static_cast<double>(metrics.coordinated_write_count)},
      {p + "coordinated.read.count", static_cast<double>(metrics.coordinated_read_count)},
      {p + "antientropy.count", static_cast<double>(metrics.antientropy_count)},
      {p + "antientropy.loss_repair.count", static_cast<double>(metrics.loss_repair_count)},
      {p + "antientropy.meeting.count", static_cast<double>(metrics.meeting_count)},
      {p + "tombstone.count", static_cast<double>(tombstones.size())},
      {p + "frames.dropped.malformed", static_cast<double>(metrics.frames_malformed)},
      {p + "frames.dropped.foreign", static_cast<double>(metrics.frames_foreign)},
      {p + "entries.dropped.mistyped", static_cast<double>(metrics.entries_mistyped)},
  };
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
  std::erase_if(impl_->loss_repairs, [&](const auto& entry) {
    return !std::binary_search(peers.begin(), peers.end(), entry.first);
  });
  impl_->peers = std::move(peers);
  impl_->coordinator.OnMembershipChange();
}
void Replicator::SetReplicaCount(size_t n) {
  impl_->replica_count = std::max<size_t>(n, 1);
  impl_->coordinator.OnMembershipChange();
}
size_t Replicator::replica_count() const {
  return std::max(impl_->replica_count, impl_->peers.size() + 1);
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
  if (auto local = impl_->Get(key, type); !local.ok()) return local.status();
  return impl_->coordinator.StartRead(key, type, level, now, timeout);
}
bool Replicator::IsDeleted(std::string_view key) const {
  return impl_->tombstones.count(std::string(key)) != 0;
}
std::vector<std::pair<std::string, CrdtType>> Replicator::Keys() const {
  std::vector<std::pair<std::string, CrdtType>> out;
  out.reserve(impl_->keys.size());
  for (const auto& [name, e] : impl_->keys) out.emplace_back(name, e.type);
  std::sort(out.begin(), out.end());
  return out;
}
void Replicator::Subscribe(std::string_view key) { ++impl_->subscriptions[std::string(key)]; }
void Replicator::Unsubscribe(std::string_view key) {
  auto it = impl_->subscriptions.find(std::string(key));
  if (it != impl_->subscriptions.end() && --it->second <= 0) impl_->subscriptions.erase(it);
}
void Replicator::TrackChanges() { impl_->track_changes = true; }

std::vector<Replicator::SnapshotChange> Replicator::TakeChanges() {
  Impl& d = *impl_;
  std::vector<SnapshotChange> out;
  out.reserve(d.changed.size());
  for (const std::string& key : d.changed) {
    if (auto t = d.tombstones.find(key); t != d.tombstones.end()) {
      out.emplace_back(key, internal::EncodeTombstoneRecord(
                                t->second.type, static_cast<uint64_t>(t->second.deleted_at)));
    } else if (auto k = d.keys.find(key); k != d.keys.end()) {
      out.emplace_back(key, internal::EncodeStateRecord(k->second.value));
    } else {
      out.emplace_back(key, std::string());
    }
  }
  d.changed.clear();
  return out;
}

void Replicator::ReturnChanges(const std::vector<SnapshotChange>& unwritten) {
  Impl& d = *impl_;
  if (!d.track_changes) return;
  for (const auto& [key, bytes] : unwritten) d.changed.insert(key);
}

Status Replicator::Restore(const std::vector<SnapshotChange>& records) {
  Impl& d = *impl_;
  std::vector<std::variant<AnyCrdt, internal::Tombstone>> decoded;
  decoded.reserve(records.size());
  for (const auto& [key, bytes] : records) {
    auto r = internal::DecodeRecord(key, bytes);
    if (!r.ok()) return r.status();
    decoded.push_back(std::move(r).value());
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (auto* t = std::get_if<internal::Tombstone>(&decoded[i])) {
      d.ApplyTombstone(*t, /*publish=*/false);
    } else {
      d.MergeValue(records[i].first, std::move(std::get<AnyCrdt>(decoded[i])));
    }
  }
  d.changed.clear();  // what was just read is already in the store
  return Status::Ok();
}

void Replicator::Receive(std::string_view frame, TimeMicros now) { impl_->Receive(frame, now); }
void Replicator::Tick(TimeMicros now) { impl_->Tick(now); }
void Replicator::RepairFrom(NodeId peer, TimeMicros) {
  Impl& d = *impl_;
  if (std::find(d.peers.begin(), d.peers.end(), peer) == d.peers.end()) return;
  d.loss_repairs[peer].waiting = true;
}
void Replicator::SyncWith(NodeId peer) {
  Impl& d = *impl_;
  if (std::find(d.peers.begin(), d.peers.end(), peer) == d.peers.end()) return;
  if (std::find(d.meetings.begin(), d.meetings.end(), peer) == d.meetings.end()) {
    d.meetings.push_back(peer);
  }
}
void Replicator::SetDeltaFlushInterval(double seconds) {
  if (!(seconds > 0 && seconds < 1e9)) return;
  impl_->flush_interval = std::max<TimeMicros>(1, impl_->Micros(seconds));
}
double Replicator::delta_flush_interval() const {
  return static_cast<double>(impl_->flush_interval) / 1e6;
}
TimeMicros Replicator::NextDeadline() const { return impl_->NextDeadline(); }
std::vector<OutgoingFrame> Replicator::TakeOutgoing() { return std::exchange(impl_->outgoing, {}); }
std::vector<ReplicaEvent> Replicator::TakeEvents() { return std::exchange(impl_->events, {}); }
std::vector<Completion> Replicator::TakeCompletions() {
  return std::exchange(impl_->completions, {});
}
const ReplicatorMetrics& Replicator::metrics() const { return impl_->metrics; }
std::map<std::string, double> Replicator::NamedMetrics() const { return impl_->NamedMetrics(); }
uint64_t Replicator::StoreDigest() { return impl_->StoreDigest(); }
size_t Replicator::tombstone_count() const { return impl_->tombstones.size(); }

}  // namespace convergent
