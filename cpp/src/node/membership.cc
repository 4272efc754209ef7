#include "node/membership.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {

Membership::Membership(MemberRecord self, TimeMicros failure_timeout, TimeMicros down_after)
    : self_(std::move(self)), failure_timeout_(failure_timeout), down_after_(down_after) {}

namespace {

// Takes `info` when it is as new as what we know (a newer incarnation replaces addresses), or
// when `any_life` (the member itself says so, and its known life is silent).
bool Learn(MemberState& m, const MemberRecord& info, bool any_life = false) {
  if (info.incarnation < m.info.incarnation && !any_life) return false;
  const bool changed = info.incarnation != m.info.incarnation || info.bus_url != m.info.bus_url ||
                       info.p2p_url != m.info.p2p_url || info.role != m.info.role;
  m.info = info;
  return changed;
}

}  // namespace

void Membership::NoteRemoved(uint64_t replica, TimeMicros now) {
  if (replica == 0 || replica == self_.replica) return;
  if (recently_removed_.size() >= 10000) recently_removed_.clear();  // bounded
  if (recently_removed_.emplace(replica, now).second) removed_replicas_.push_back(replica);
}

void Membership::Depart(NodeId id, uint64_t incarnation) {
  if (departed_.size() >= 10000) departed_.clear();  // bounded; forgetting only costs a re-add
  uint64_t& inc = departed_[id];
  inc = std::max(inc, incarnation);
}

bool Membership::Departed(const MemberRecord& m) const {
  auto d = departed_.find(m.id);
  return d != departed_.end() && m.incarnation <= d->second;
}

bool Membership::OnHeartbeat(const HeartbeatMsg& h, TimeMicros now, bool direct) {
  bool changed = false;
  if (h.sender.id != self_.id && h.sender.datacenter == self_.datacenter) {
    if (h.sender.leaving) {
      changed = members_.erase(h.sender.id) > 0;
      Depart(h.sender.id, h.sender.incarnation);
      NoteRemoved(h.sender.replica, now);
    } else if (!direct && Departed(h.sender)) {
      // Not straight from it: no news that it is back.
    } else {
      departed_.erase(h.sender.id);
      auto [it, added] = members_.try_emplace(h.sender.id);
      const uint64_t known_incarnation = it->second.info.incarnation;
      // Straight from a member whose known life is silent: whatever its incarnation, this is its
      // life now (a restart after its wall clock stepped back numbers it lower).
      const bool new_life =
          direct && !added && !it->second.reachable && h.sender.incarnation != known_incarnation;
      const uint64_t known_replica = it->second.info.replica;
      changed = Learn(it->second, h.sender, new_life) || added;
      // Its earlier life is over. (Not when a lower incarnation took its place: that may be a
      // late heartbeat of the earlier life itself, and a live replica must never be pruned.)
      if (!added && known_replica != 0 && it->second.info.replica != known_replica &&
          it->second.info.incarnation > known_incarnation) {
        NoteRemoved(known_replica, now);
      }
      if (added) it->second.learned = now;
      if (direct && (h.sender.incarnation >= known_incarnation || new_life)) {
        const bool newly =
            !it->second.heard || !it->second.reachable || h.sender.incarnation != known_incarnation;
        it->second.heard = true;
        it->second.last_heard = now;
        if (!it->second.reachable) changed = true;
        it->second.reachable = true;
        if (newly) met_.push_back(h.sender.id);
      }
    }
  }
  for (uint64_t r : h.removed_replicas) NoteRemoved(r, now);
  for (const MemberRecord& k : h.known) {  // gossip: only discovery, never reachability
    if (k.id == self_.id || k.leaving || members_.count(k.id) != 0) continue;
    if (k.datacenter != self_.datacenter) continue;  // another datacenter's
    if (k.bus_url.empty()) continue;
    if (Departed(k)) continue;  // gone; the others have not seen it go yet
    departed_.erase(k.id);      // a new life, if it had departed
    MemberState s;
    s.info = k;
    s.learned = now;
    members_.emplace(k.id, std::move(s));
    changed = true;
  }
  return changed;
}

bool Membership::Check(TimeMicros now) {
  bool changed = false;
  std::erase_if(recently_removed_, [&](const auto& r) { return now - r.second > kRemovedGossip; });
  for (auto it = members_.begin(); it != members_.end();) {
    MemberState& m = it->second;
    const bool reachable = m.heard && now - m.last_heard <= failure_timeout_;
    if (reachable != m.reachable) {
      m.reachable = reachable;
      changed = true;
    }
    const TimeMicros silent_since = m.heard ? std::max(m.last_heard, m.learned) : m.learned;
    if (!reachable && down_after_ > 0 && now - silent_since > down_after_) {
      Depart(it->first, m.info.incarnation);
      ++downed_count_;
      it = members_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

HeartbeatMsg Membership::MakeHeartbeat(bool leaving) const {
  HeartbeatMsg h;
  h.sender = self_;
  h.sender.leaving = leaving;
  for (const auto& [id, m] : members_) h.known.push_back(m.info);
  for (const auto& [replica, when] : recently_removed_) h.removed_replicas.push_back(replica);
  return h;
}

std::vector<NodeId> Membership::Peers() const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) {
    if (m.info.role == self_.role) out.push_back(id);
  }
  return out;
}

NodeId Membership::Leader() const {
  NodeId leader = self_.id;
  for (const auto& [id, m] : members_) {
    if (m.reachable && m.info.role == self_.role && id < leader) leader = id;
  }
  return leader;
}

bool Membership::IsReachable(NodeId id) const {
  auto it = members_.find(id);
  return it != members_.end() && it->second.reachable;
}

}  // namespace convergent::internal
