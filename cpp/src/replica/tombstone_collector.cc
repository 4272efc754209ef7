#include "replica/tombstone_collector.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace convergent::internal {
namespace {

// r's counter in a version vector (0: none).
uint64_t CounterOf(const CausalContext::VersionVector& vv, ReplicaId r) {
  auto at = std::lower_bound(vv.begin(), vv.end(), r,
                             [](const auto& x, ReplicaId id) { return x.replica < id; });
  return at != vv.end() && at->replica == r ? at->counter : 0;
}

}  // namespace

TombstoneCollector::TombstoneCollector(KeyStore& store, const ReplicatorOptions& options,
                                       ReplicaId self, ReplicatorMetrics& metrics)
    : store_(store), options_(options), self_(self), metrics_(metrics) {}

Dot TombstoneCollector::NextDot() { return Dot{self_, ++next_counter_}; }

bool TombstoneCollector::Admit(const DeleteDots& dots) {
  if (!dots.empty() &&
      std::all_of(dots.begin(), dots.end(), [&](const Dot& d) { return floor_.Contains(d); })) {
    ++metrics_.tombstones_collected_ignored;
    return false;
  }
  for (const Dot& d : dots) {
    if (!seen_.Contains(d)) {
      seen_.Insert(d);
      record_dirty_ = true;
    }
  }
  return true;
}

CausalContext::VersionVector TombstoneCollector::AdvertisedSeen() const {
  // With snapshots, only what a restart would restore (the deletes record last written), so
  // that no floor counts on a delete a crash can lose; and the floor, which holds without it.
  if (!store_.tracking_changes()) return seen_.version_vector();
  CausalContext out = floor_;
  auto durable = CausalContext::FromParts(durable_, {});
  if (durable.ok()) out.Join(*durable);
  return out.version_vector();
}

DeleteAdvert TombstoneCollector::AdvertTo(NodeId peer) const {
  DeleteAdvert advert{AdvertisedSeen(),
                      floor_.version_vector(),
                      members_hash_,
                      retired_.digest(),
                      std::nullopt,
                      unsure_,
                      fresh_};
  if (retired_.empty()) return advert;
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second.retired_digest == retired_.digest()) {
    // The peer has the same retired set: it puts the entries back itself.
    advert.seen = retired_.Without(advert.seen);
    advert.collected = retired_.Without(advert.collected);
  } else {
    // Whole vectors (a replica of an earlier version reads them as they are), and the set.
    advert.retired = retired_.entries();
  }
  return advert;
}

bool TombstoneCollector::Covers(const CausalContext::VersionVector& vv, const CausalContext& ctx) {
  // Every (r, 1..n) of ctx's vector is within vv.
  return std::all_of(ctx.version_vector().begin(), ctx.version_vector().end(),
                     [&](const auto& e) { return CounterOf(vv, e.replica) >= e.counter; });
}

bool TombstoneCollector::IsStale(ReplicaId r) const {
  auto it = heard_.find(r);
  return it != heard_.end() && !Covers(it->second.seen, floor_);
}

bool TombstoneCollector::RefusesStatesOf(NodeId node, ReplicaId r) const {
  if (IsStale(r)) return true;
  auto it = peers_.find(node);
  return fresh_ && it != peers_.end() && it->second.unsure;
}

bool TombstoneCollector::WithholdsStatesFrom(NodeId node) const {
  auto it = peers_.find(node);
  return unsure_ && it != peers_.end() && it->second.fresh;
}

bool TombstoneCollector::Adopt(const CausalContext::VersionVector& floor) {
  auto parts = CausalContext::FromParts(floor, {});
  if (!parts.ok()) return false;  // decoded frames are in compact form already
  if (Covers(floor_.version_vector(), *parts) && Covers(seen_.version_vector(), *parts)) {
    return false;
  }
  seen_.Join(*parts);
  floor_.Join(*parts);
  record_dirty_ = true;
  return true;
}

TombstoneCollector::Heard TombstoneCollector::OnAdvert(NodeId from_node, ReplicaId from,
                                                       const DeleteAdvert& advert, TimeMicros now) {
  peers_[from_node] = PeerAdvert{advert.retired_digest, advert.unsure, advert.fresh};
  // The vectors the advert stands for: its entries and the sender's retired ones.
  static const RetiredDeletes::Vector kNone;
  const RetiredDeletes::Vector* retired = nullptr;
  if (advert.retired) {
    if (RetiredDeletes::DigestOf(*advert.retired) == advert.retired_digest) {
      retired = &*advert.retired;
    }
  } else if (advert.retired_digest == 0) {
    retired = &kNone;
  } else if (advert.retired_digest == retired_.digest()) {
    retired = &retired_.entries();
  }
  if (retired == nullptr) {
    ++metrics_.delete_adverts_unreadable;
    return Heard::kUnreadable;
  }
  const Heard heard =
      Hear(from,
           DeleteAdvert{RetiredDeletes::With(advert.seen, *retired),
                        RetiredDeletes::With(advert.collected, *retired), advert.members,
                        advert.retired_digest, std::nullopt, advert.unsure, advert.fresh},
           now);
  // The sender's retired entries are within its floor, which this one adopted: they retire
  // here too (unless the floor was refused), so that the two sets become one.
  if (retired != &retired_.entries() &&
      std::all_of(retired->begin(), retired->end(),
                  [&](const auto& e) {
                    return floor_.Contains(Dot{e.replica, e.counter});
                  }) &&
      retired_.Join(*retired)) {
    record_dirty_ = true;
  }
  // A store that started empty is new until it has heard every member: what it holds came from
  // its own writes and from members that had seen every delete their floors collected.
  if (fresh_ && HeardEveryMember(false)) fresh_ = false;
  if (unsure_ && unsure_until_ == 0) {
    unsure_until_ = std::max<TimeMicros>(1, now + 2 * MicrosOf(options_.anti_entropy_interval));
  }
  if (unsure_ && (HeardEveryMember(true) || now >= unsure_until_)) unsure_ = false;
  epoch_ = epoch_ == 0xffff ? 1 : epoch_ + 1;  // the writes so far are before this advert
  return heard;
}

TombstoneCollector::Heard TombstoneCollector::Hear(ReplicaId from, const DeleteAdvert& advert,
                                                   TimeMicros now) {
  heard_[from] = advert;
  auto theirs = CausalContext::FromParts(advert.collected, {});
  if (!theirs.ok()) return Heard::kNothingNew;
  if (Covers(seen_.version_vector(), *theirs)) {
    // Nothing was collected that we missed. Floors spread: what a peer found every member (of
    // its view) has seen is collected here too, so that replicas whose views of the members
    // differ for a while (a goodbye one of them missed) still collect the same tombstones.
    // The peer hears of it only if it refuses this replica's states (the last advert, durable,
    // did not cover its floor): a round with it tells it.
    const bool refused_there = !Covers(AdvertisedSeen(), *theirs);
    Adopt(advert.collected);
    return refused_there ? Heard::kAdopted : Heard::kNothingNew;
  }
  // They collected deletes this store has not seen.
  const bool they_missed_ours = !Covers(advert.seen, floor_);
  Heard heard = Heard::kAdopted;
  if (fresh_) {
    // Nothing here is from before: the keys written so far are new, whatever was deleted.
  } else if (they_missed_ours) {
    ++metrics_.deletes_split_brain;  // each side collected what the other missed: keep both
  } else {
    Quarantine(now);
    heard = Heard::kQuarantined;
  }
  Adopt(advert.collected);
  return heard;
}

bool TombstoneCollector::HeardEveryMember(bool same_view) const {
  return !members_.empty() && std::all_of(members_.begin(), members_.end(), [&](ReplicaId m) {
    return m == self_ || (same_view ? HeardInThisView(m) != nullptr : heard_.count(m) != 0);
  });
}

const DeleteAdvert* TombstoneCollector::HeardInThisView(ReplicaId m) const {
  auto it = heard_.find(m);
  return it != heard_.end() && it->second.members == members_hash_ ? &it->second : nullptr;
}

void TombstoneCollector::Quarantine(TimeMicros now) {
  // A key written here since the last advert is kept: the write is newer than anything a peer
  // collected (the content it was written onto comes along: see docs/concepts.md).
  for (auto& [name, value] :
       store_.TakeKeysIf([&](const KeyEntry& e) { return e.written_epoch != epoch_; })) {
    quarantine_.insert_or_assign(std::move(name), std::move(value));
    ++metrics_.keys_quarantined;
  }
  ++metrics_.stale_catch_ups;
  quarantine_until_ = now + 2 * MicrosOf(options_.anti_entropy_interval);
}

std::optional<AnyCrdt> TombstoneCollector::TakeQuarantined(const std::string& name) {
  auto it = quarantine_.find(name);
  if (it == quarantine_.end()) return std::nullopt;
  AnyCrdt value = std::move(it->second);
  quarantine_.erase(it);
  ++metrics_.keys_unquarantined;
  return value;
}

void TombstoneCollector::KeepPeers(const std::vector<NodeId>& peers) {
  std::erase_if(peers_, [&](const auto& e) {
    return !std::binary_search(peers.begin(), peers.end(), e.first);
  });
}

void TombstoneCollector::SetMembers(const std::vector<ReplicaId>& members) {
  members_ = members;
  members_hash_ = 0;
  for (ReplicaId m : members) members_hash_ = members_hash_ * 0x9E3779B97F4A7C15ull + m.value + 1;
}

void TombstoneCollector::Tick(TimeMicros now) {
  if (unsure_ && unsure_until_ != 0 && now >= unsure_until_) unsure_ = false;
  if (!quarantine_.empty() && now >= quarantine_until_) {
    metrics_.keys_dropped_stale += quarantine_.size();
    quarantine_.clear();
  }
  std::erase_if(heard_, [&](const auto& h) {
    return !std::binary_search(members_.begin(), members_.end(), h.first);
  });
  if (!members_.empty()) {
    std::erase_if(answered_unsure_, [&](ReplicaId r) {
      return !std::binary_search(members_.begin(), members_.end(), r);
    });
  }
  if (!members_.empty()) {
    SkipLostDeletes(now);
    RaiseFloor();
    Retire();
  }
  const TimeMicros hold = MicrosOf(options_.tombstone_ttl);
  metrics_.tombstones_collected += store_.CollectTombstones([&](TombstoneEntry& t) {
    const bool under = !t.dots.empty() && std::all_of(t.dots.begin(), t.dots.end(),
                                                      [&](Dot d) { return floor_.Contains(d); });
    if (!under) return false;
    if (t.under_floor_since == 0) t.under_floor_since = std::max<TimeMicros>(now, 1);
    return now - t.under_floor_since >= hold;
  });
}

void TombstoneCollector::RaiseFloor() {
  // The floor rises to what every member has said it has seen (this one: what it advertises).
  CausalContext::VersionVector common = AdvertisedSeen();
  for (ReplicaId m : members_) {
    if (m == self_) continue;
    // Not heard yet, or with another view of the members: the floor stays.
    const DeleteAdvert* theirs = HeardInThisView(m);
    if (theirs == nullptr) return;
    CausalContext::VersionVector next;
    for (const auto& e : common) {
      const uint64_t n = std::min(e.counter, CounterOf(theirs->seen, e.replica));
      if (n != 0) next.push_back({e.replica, n});
    }
    common = std::move(next);
  }
  Adopt(common);
}

std::optional<uint64_t> TombstoneCollector::LowestSeenOf(ReplicaId r) const {
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  for (ReplicaId m : members_) {
    if (m == self_) continue;
    const DeleteAdvert* theirs = HeardInThisView(m);
    if (theirs == nullptr) return std::nullopt;
    lowest = std::min(lowest, CounterOf(theirs->seen, r));
  }
  return lowest;
}

void TombstoneCollector::SkipLostDeletes(TimeMicros now) {
  // A gone replica with a delete seen here beyond a gap (a cloud dot), and no member short of
  // the gap. A member past it either passed over it already or holds its tombstone, which
  // anti-entropy brings here well within tombstone_ttl (the gap then closes and the wait ends).
  std::map<ReplicaId, Gap> gaps;
  for (const Dot& d : seen_.dot_cloud()) {
    if (gaps.count(d.replica) != 0 ||
        std::binary_search(members_.begin(), members_.end(), d.replica)) {
      continue;
    }
    const uint64_t after = seen_.Contiguous(d.replica);
    const auto lowest = LowestSeenOf(d.replica);
    if (!lowest || *lowest < after) continue;
    auto before = gaps_.find(d.replica);
    const bool same = before != gaps_.end() && before->second.after == after;
    gaps[d.replica] = Gap{after, same ? before->second.since : now};
  }
  gaps_ = std::move(gaps);
  const TimeMicros hold = MicrosOf(options_.tombstone_ttl);
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (now - it->second.since < hold) {
      ++it;
      continue;
    }
    seen_.Insert(Dot{it->first, it->second.after + 1});
    record_dirty_ = true;
    ++metrics_.deletes_lost;
    it = gaps_.erase(it);
  }
}

void TombstoneCollector::Retire() {
  RetiredDeletes::Vector more;
  for (const auto& e : floor_.version_vector()) {
    if (e.replica == self_ || std::binary_search(members_.begin(), members_.end(), e.replica) ||
        retired_.Covers(e.replica, e.counter)) {
      continue;
    }
    // A delete of it beyond the floor is known here: its entry would move again.
    if (seen_.Contains(Dot{e.replica, e.counter + 1}) ||
        std::any_of(seen_.dot_cloud().begin(), seen_.dot_cloud().end(),
                    [&](Dot d) { return d.replica == e.replica; })) {
      continue;
    }
    more.push_back(e);
  }
  if (retired_.Join(more)) record_dirty_ = true;
}

std::optional<DeletesRecord> TombstoneCollector::TakeRecord(bool anyway) {
  if (!record_dirty_ && !anyway) return std::nullopt;
  record_dirty_ = false;
  durable_before_ = std::exchange(durable_, seen_.version_vector());
  return DeletesRecord{seen_, floor_, 0, retired_.entries()};
}

void TombstoneCollector::Restore(const DeletesRecord& record) {
  seen_.Join(record.seen);
  floor_.Join(record.collected);
  seen_.Join(floor_);
  RetiredDeletes::Vector retired;  // within the floor, as written
  for (const auto& e : record.retired) {
    if (floor_.Contains(Dot{e.replica, e.counter})) retired.push_back(e);
  }
  retired_.Join(retired);
  durable_ = seen_.version_vector();  // read from the snapshot: what a restart restores
}

}  // namespace convergent::internal
