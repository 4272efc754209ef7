#include "node/membership.h"

#include <utility>

namespace convergent::internal {

Membership::Membership(MemberRecord self, TimeMicros failure_timeout)
    : self_(std::move(self)), failure_timeout_(failure_timeout) {}

namespace {

// Takes `info` when it is as new as what we know (a newer incarnation replaces addresses).
bool Learn(MemberState& m, const MemberRecord& info) {
  if (info.incarnation < m.info.incarnation) return false;
  const bool changed = info.incarnation != m.info.incarnation || info.bus_url != m.info.bus_url ||
                       info.p2p_url != m.info.p2p_url || info.role != m.info.role;
  m.info = info;
  return changed;
}

}  // namespace

bool Membership::OnHeartbeat(const HeartbeatMsg& h, TimeMicros now, bool direct) {
  bool changed = false;
  if (h.sender.id != self_.id) {
    if (h.sender.leaving) {
      changed = members_.erase(h.sender.id) > 0;
    } else {
      auto [it, added] = members_.try_emplace(h.sender.id);
      changed = Learn(it->second, h.sender) || added;
      if (direct) {
        it->second.last_heard = now;
        if (!it->second.reachable) changed = true;
        it->second.reachable = true;
      }
    }
  }
  for (const MemberRecord& k : h.known) {  // gossip: only discovery, never reachability
    if (k.id == self_.id || k.leaving || members_.count(k.id) != 0) continue;
    if (k.bus_url.empty()) continue;
    MemberState s;
    s.info = k;
    members_.emplace(k.id, std::move(s));
    changed = true;
  }
  return changed;
}

bool Membership::Check(TimeMicros now) {
  bool changed = false;
  for (auto& [id, m] : members_) {
    const bool reachable = m.last_heard != 0 && now - m.last_heard <= failure_timeout_;
    if (reachable != m.reachable) {
      m.reachable = reachable;
      changed = true;
    }
  }
  return changed;
}

HeartbeatMsg Membership::MakeHeartbeat(bool leaving) const {
  HeartbeatMsg h;
  h.sender = self_;
  h.sender.leaving = leaving;
  for (const auto& [id, m] : members_) h.known.push_back(m.info);
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
