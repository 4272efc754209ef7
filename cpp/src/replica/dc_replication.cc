#include "replica/dc_replication.h"

#include <algorithm>
#include <limits>

#include "convergent/codec.h"
#include "replica/frame_budget.h"

namespace convergent::internal {
namespace {

// What a local update adds to the buffer's size before it is encoded (a guess; the cut measures).
constexpr size_t kDeltaGuess = 64;

}  // namespace

DcReplication::DcReplication(DcHost& host, KeyStore& store, const ReplicatorOptions& options,
                             ReplicatorMetrics& metrics)
    : host_(host), store_(store), options_(options), metrics_(metrics) {}

void DcReplication::Configure(std::string self, std::vector<RemoteDatacenter> remotes, bool gateway,
                              TimeMicros now) {
  self_ = std::move(self);
  if (gateway && !gateway_) {
    // Taking over: everything still queued goes (the former gateway may have sent it, or not),
    // and a round with each datacenter repairs what neither holds.
    for (auto& [name, r] : remotes_) {
      for (Queued& q : r.queue) q.sent = 0;
      r.needs_sync = true;
    }
  }
  gateway_ = gateway;
  std::map<std::string, Remote> kept;
  remote_members_.clear();
  for (RemoteDatacenter& d : remotes) {
    if (d.name.empty() || d.name == self_) continue;
    auto old = remotes_.find(d.name);
    Remote r = old != remotes_.end() ? std::move(old->second) : Remote{};
    if (r.target != d.target) {
      for (Queued& q : r.queue) q.sent = 0;  // to the new target, at once
      if (!d.target) {
        r.unreachable_since = now;
      } else if (r.unreachable_since != 0 || !r.target) {
        r.needs_sync = true;  // reachable again: what crossed neither way meanwhile
        r.unreachable_since = 0;
      }
    }
    r.target = d.target;
    r.members = std::move(d.members);
    remote_members_.insert(r.members.begin(), r.members.end());
    if (r.target) remote_members_.insert(*r.target);
    kept.emplace(d.name, std::move(r));
  }
  remotes_ = std::move(kept);
  if (remotes_.empty()) {
    pending_.clear();
    pending_bytes_ = 0;
    pending_since_wall_ = 0;
  }
}

std::vector<std::pair<std::string, std::optional<NodeId>>> DcReplication::Targets() const {
  std::vector<std::pair<std::string, std::optional<NodeId>>> out;
  for (const auto& [name, r] : remotes_) out.emplace_back(name, r.target);
  return out;
}

std::string DcReplication::DatacenterOfMember(NodeId node) const {
  if (remote_members_.count(node) == 0) return "";
  for (const auto& [name, r] : remotes_) {
    if (r.target == node ||
        std::find(r.members.begin(), r.members.end(), node) != r.members.end()) {
      return name;
    }
  }
  return "";
}

// ---- changes ----

void DcReplication::Add(const std::string& name, const AnyCrdt& delta, size_t encoded_size,
                        TimeMicros wall) {
  if (!enabled()) return;
  if (pending_.empty()) pending_since_wall_ = wall;
  auto [it, added] = pending_.try_emplace(name);
  Pending& p = it->second;
  if (added) {
    p.delta = delta;
  } else if (p.delta && !p.tombstone) {
    if (!p.delta->Join(delta).ok()) p.delta.reset();  // another type now: its state at the cut
  }
  pending_bytes_ += encoded_size != 0 ? encoded_size : kDeltaGuess;
}

void DcReplication::AddWhole(const std::string& name, size_t encoded_size, TimeMicros wall) {
  if (!enabled()) return;
  if (pending_.empty()) pending_since_wall_ = wall;
  Pending& p = pending_[name];
  p.delta.reset();
  p.tombstone = false;
  pending_bytes_ += encoded_size;
}

void DcReplication::AddTombstone(const std::string& name, TimeMicros wall) {
  if (!enabled()) return;
  if (pending_.empty()) pending_since_wall_ = wall;
  Pending& p = pending_[name];
  p.delta.reset();
  p.tombstone = true;
  pending_bytes_ += name.size() + 32;
}

void DcReplication::Relay(const KeyedState& s) {
  if (relay_whole_.count(s.key) == 0) relay_entries_.push_back(s);
}
void DcReplication::RelayWhole(const std::string& name) { relay_whole_.insert(name); }
void DcReplication::Relay(const Tombstone& t) { relay_tombstones_.push_back(t); }

// ---- timers ----

void DcReplication::Tick(TimeMicros now) {
  FlushRelay();
  if (!enabled()) return;
  // The cut is due an interval after the previous one, or (after a quiet time) after the first
  // change since.
  if (pending_.empty() && now >= next_cut_) {
    next_cut_ = now + MicrosOf(options_.dc_replication_interval);
  } else if (now >= next_cut_) {
    next_cut_ = now + MicrosOf(options_.dc_replication_interval);
    Cut(now);
  }
  if (pending_bytes_ > options_.max_dc_buffer_bytes) {
    // The buffer alone is past the bound: every datacenter is repaired instead.
    pending_.clear();
    pending_bytes_ = 0;
    pending_since_wall_ = 0;
    for (auto& [name, r] : remotes_) Drop(r);
  }
  const TimeMicros give_up = MicrosOf(options_.dc_anti_entropy_interval);
  for (auto& [name, r] : remotes_) {
    if (r.bytes > options_.max_dc_buffer_bytes ||
        (r.unreachable_since != 0 && now - r.unreachable_since > give_up && !r.queue.empty())) {
      Drop(r);
    }
    if (gateway_) Send(r, now);
  }
}

void DcReplication::Cut(TimeMicros now) {
  const TimeMicros prev = last_cut_;
  last_cut_ = now;
  if (pending_.empty()) return;
  std::vector<std::shared_ptr<const Batch>> cut;
  const uint64_t since = static_cast<uint64_t>(std::max<TimeMicros>(pending_since_wall_, 0));
  DcBatchMsg blank;
  blank.datacenter = self_;
  blank.since_wall_us = since;
  BatchBuilder<DcBatchMsg> builder(
      options_.max_frame_size,
      [&](DcBatchMsg b) {
        auto batch = std::make_shared<Batch>();
        batch->seq = next_seq_++;
        batch->created = now;
        batch->prev_cut = prev;
        b.seq = batch->seq;
        for (const KeyedState& s : b.entries) batch->bytes += EntryBound(s);
        for (const Tombstone& t : b.tombstones) batch->bytes += TombstoneBound(t);
        batch->body = std::move(b);
        cut.push_back(std::move(batch));
      },
      blank);
  for (auto& [name, p] : pending_) {
    if (const TombstoneEntry* t = store_.FindTombstone(name)) {
      builder.Add(KeyStore::ToTombstone(name, *t));
      continue;
    }
    const KeyEntry* e = store_.FindKey(name);
    if (e == nullptr) continue;  // gone (expired, or set aside)
    std::string bytes;
    if (p.delta && !p.tombstone) bytes = EncodeAny(*p.delta);
    if (bytes.empty() || bytes.size() > options_.max_delta_size) {
      builder.Add(host_.FullState(name, *e));
    } else {
      builder.Add(KeyedState{name, std::move(bytes), false, {}, 0});
    }
  }
  builder.Finish();
  pending_.clear();
  pending_bytes_ = 0;
  pending_since_wall_ = 0;
  const TimeMicros give_up = MicrosOf(options_.dc_anti_entropy_interval);
  for (auto& [name, r] : remotes_) {
    // A datacenter unreachable for long gets no queue: anti-entropy repairs it once it is back.
    if (r.unreachable_since != 0 && now - r.unreachable_since > give_up) continue;
    for (const auto& b : cut) {
      r.queue.push_back(Queued{b, 0});
      r.bytes += b->bytes;
    }
  }
}

void DcReplication::Send(Remote& r, TimeMicros now) {
  if (r.queue.empty()) return;
  if (!r.target) {
    for (Queued& q : r.queue) {
      if (q.sent == 0) {
        ++stale_skips_;  // due, and nobody to send it to (sent once there is a target)
        q.sent = now;
      }
    }
    return;
  }
  const TimeMicros timeout = MicrosOf(options_.dc_send_timeout);
  for (Queued& q : r.queue) {
    if (q.sent != 0 && now - q.sent < timeout) continue;
    q.sent = now;
    ++r.batches_sent;
    r.bytes_sent += q.batch->bytes;
    ++metrics_.dc_batches_sent;
    host_.SendTo(*r.target, q.batch->body);
  }
}

void DcReplication::Drop(Remote& r) {
  if (r.queue.empty()) return;
  ++r.dropped;
  ++metrics_.dc_buffers_dropped;
  r.queue.clear();
  r.bytes = 0;
  r.needs_sync = true;
}

void DcReplication::FlushRelay() {
  if (relay_entries_.empty() && relay_whole_.empty() && relay_tombstones_.empty()) return;
  DeltaBatchMsg blank;
  blank.relayed = true;
  BatchBuilder<DeltaBatchMsg> builder(
      options_.max_frame_size, [&](DeltaBatchMsg b) { host_.BroadcastToPeers(std::move(b)); },
      blank);
  for (KeyedState& s : relay_entries_) {
    if (relay_whole_.count(s.key) == 0) builder.Add(std::move(s));
  }
  for (const std::string& name : relay_whole_) {
    if (const KeyEntry* e = store_.FindKey(name)) builder.Add(host_.FullState(name, *e));
  }
  for (Tombstone& t : relay_tombstones_) builder.Add(std::move(t));
  builder.Finish();
  relay_entries_.clear();
  relay_whole_.clear();
  relay_tombstones_.clear();
}

TimeMicros DcReplication::NextDeadline() const {
  if (!relay_entries_.empty() || !relay_whole_.empty() || !relay_tombstones_.empty()) {
    return std::numeric_limits<TimeMicros>::min();
  }
  if (!enabled()) return std::numeric_limits<TimeMicros>::max();
  TimeMicros t = pending_.empty() ? std::numeric_limits<TimeMicros>::max() : next_cut_;
  const TimeMicros give_up = MicrosOf(options_.dc_anti_entropy_interval);
  for (const auto& [name, r] : remotes_) {
    if (r.unreachable_since != 0 && !r.queue.empty())
      t = std::min(t, r.unreachable_since + give_up);
  }
  if (!gateway_) return t;
  const TimeMicros timeout = MicrosOf(options_.dc_send_timeout);
  for (const auto& [name, r] : remotes_) {
    if (!r.target) continue;  // (Configure brings a target)
    if (r.needs_sync) return std::numeric_limits<TimeMicros>::min();
    t = std::min(t, r.next_sync == 0 ? std::numeric_limits<TimeMicros>::min() : r.next_sync);
    for (const Queued& q : r.queue) {
      t = std::min(t, q.sent == 0 ? std::numeric_limits<TimeMicros>::min() : q.sent + timeout);
    }
  }
  return t;
}

std::vector<NodeId> DcReplication::TakeSyncs(TimeMicros now) {
  std::vector<NodeId> out;
  if (!gateway_) return out;
  for (auto& [name, r] : remotes_) {
    if (!r.target) continue;
    if (r.next_sync == 0) r.next_sync = now + MicrosOf(options_.dc_anti_entropy_interval);
    if (!r.needs_sync && now < r.next_sync) continue;
    r.needs_sync = false;
    r.next_sync = now + MicrosOf(options_.dc_anti_entropy_interval);
    ++syncs_;
    out.push_back(*r.target);
  }
  return out;
}

// ---- frames ----

void DcReplication::Applied(NodeId from, const DcBatchMsg& m, size_t size, TimeMicros wall) {
  host_.SendTo(from, DcAckMsg{{m.seq}});
  ++metrics_.dc_batches_received;
  auto it = remotes_.find(DatacenterOfMember(from));  // (not the name the batch says)
  if (it == remotes_.end()) return;
  Remote& r = it->second;
  ++r.batches_received;
  r.bytes_received += size;
  r.last_received_wall = wall;
  if (m.since_wall_us != 0) r.last_lag = wall - static_cast<TimeMicros>(m.since_wall_us);
}

void DcReplication::OnAck(NodeId from, const DcAckMsg& m) {
  for (auto& [name, r] : remotes_) {
    if (std::find(r.members.begin(), r.members.end(), from) == r.members.end() &&
        r.target != from) {
      continue;
    }
    for (uint64_t seq : m.seqs) {
      auto q = std::find_if(r.queue.begin(), r.queue.end(),
                            [&](const Queued& x) { return x.batch->seq == seq; });
      if (q == r.queue.end()) continue;
      r.bytes -= q->batch->bytes;
      r.queue.erase(q);
    }
  }
}

// ---- the standby ----

std::vector<std::pair<std::string, TimeMicros>> DcReplication::AckedAges(TimeMicros now) const {
  std::vector<std::pair<std::string, TimeMicros>> out;
  if (!gateway_) return out;
  for (const auto& [name, r] : remotes_) {
    const TimeMicros upto = r.queue.empty() ? last_cut_ : r.queue.front().batch->prev_cut;
    if (upto == 0) continue;  // nothing cut yet, or nothing before the oldest batch
    out.emplace_back(name, std::max<TimeMicros>(0, now - upto));
  }
  return out;
}

void DcReplication::Trim(const std::vector<std::pair<std::string, TimeMicros>>& acked,
                         TimeMicros now) {
  if (gateway_) return;
  // A change reaches the others of the datacenter within a delta flush or two (the interval
  // grows to max 1 s under back-pressure) after it reached this replica, or the other way round.
  const TimeMicros margin = 2 * MicrosOf(options_.dc_replication_interval) + 2'000'000;
  for (const auto& [name, age] : acked) {
    auto it = remotes_.find(name);
    if (it == remotes_.end()) continue;
    Remote& r = it->second;
    const TimeMicros cutoff = now - age - margin;
    while (!r.queue.empty() && r.queue.front().batch->created < cutoff) {
      r.bytes -= r.queue.front().batch->bytes;
      r.queue.pop_front();
    }
  }
}

// ---- observation ----

size_t DcReplication::buffered_bytes() const {
  size_t total = pending_bytes_;
  for (const auto& [name, r] : remotes_) total += r.bytes;
  return total;
}

void DcReplication::AddMetrics(std::map<std::string, double>& m, TimeMicros wall) const {
  const std::string p = "crdt.replicator.crossdc.";
  TimeMicros newest = 0;
  for (const auto& [name, r] : remotes_) newest = std::max(newest, r.last_received_wall);
  m[p + "send.count"] = static_cast<double>(metrics_.dc_batches_sent);
  m[p + "receive.count"] = static_cast<double>(metrics_.dc_batches_received);
  // Nanoseconds since the newest batch from any datacenter arrived (0: none yet).
  m[p + "replication.lag"] = newest == 0 ? 0.0 : static_cast<double>(wall - newest) * 1000.0;
  m[p + "stale.skip.count"] = static_cast<double>(stale_skips_);
  m[p + "buffer.dropped.count"] = static_cast<double>(metrics_.dc_buffers_dropped);
  m[p + "buffer.bytes"] = static_cast<double>(buffered_bytes());
  m[p + "antientropy.count"] = static_cast<double>(syncs_);
  m[p + "gateway"] = gateway_ ? 1.0 : 0.0;
  for (const auto& [name, r] : remotes_) {
    const std::string q = p + "dc." + name + ".";
    m[q + "reachable"] = r.target ? 1.0 : 0.0;
    m[q + "batches.sent"] = static_cast<double>(r.batches_sent);
    m[q + "bytes.sent"] = static_cast<double>(r.bytes_sent);
    m[q + "batches.received"] = static_cast<double>(r.batches_received);
    m[q + "bytes.received"] = static_cast<double>(r.bytes_received);
    m[q + "queue.batches"] = static_cast<double>(r.queue.size());
    m[q + "queue.bytes"] = static_cast<double>(r.bytes);
    m[q + "buffer.dropped.count"] = static_cast<double>(r.dropped);
    // Seconds between the oldest change of the last batch received and its arrival.
    m[q + "lag.seconds"] = static_cast<double>(r.last_lag) / 1e6;
  }
}

}  // namespace convergent::internal
