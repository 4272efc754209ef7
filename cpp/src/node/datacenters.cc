#include "node/datacenters.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {
namespace {

// Whether two member lists name the same members at the same addresses, lives and roles.
bool SameMembers(const std::map<NodeId, MemberRecord>& a, const std::map<NodeId, MemberRecord>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [id, m] : a) {
    auto it = b.find(id);
    if (it == b.end() || it->second.p2p_url != m.p2p_url ||
        it->second.incarnation != m.incarnation || it->second.role != m.role) {
      return false;
    }
  }
  return true;
}

}  // namespace

Datacenters::Remote* Datacenters::Slot(const std::string& name) {
  if (!enabled() || name.empty() || name == self_) return nullptr;
  if (remotes_.count(name) == 0 && remotes_.size() >= kMaxDatacenters) return nullptr;
  return &remotes_[name];
}

void Datacenters::IndexMembers() {
  remote_ids_.clear();
  for (const auto& [name, r] : remotes_) {
    for (const auto& [id, m] : r.members) remote_ids_.insert(id);
  }
}

Datacenters::Datacenters(std::string self, std::map<std::string, std::vector<std::string>> seeds,
                         TimeMicros failure_timeout)
    : self_(std::move(self)), seeds_(std::move(seeds)), failure_timeout_(failure_timeout) {
  if (!enabled()) seeds_.clear();
  for (const auto& [name, urls] : seeds_) {
    if (name != self_) remotes_[name];
  }
  remotes_.erase(self_);
}

bool Datacenters::OnHello(const DatacenterHelloMsg& hello, TimeMicros now) {
  const std::string& dc = hello.sender.datacenter;
  Remote* slot = Slot(dc);
  if (slot == nullptr) return false;
  Remote& r = *slot;
  const auto before = r.members;
  const std::optional<NodeId> gateway_before = r.gateway;
  const bool was_heard =
      r.heard.count(hello.sender.id) != 0 && now - r.heard[hello.sender.id] <= failure_timeout_;
  for (const MemberRecord& m : hello.members) {
    if (m.datacenter == dc && !m.leaving) r.members[m.id] = m;
  }
  MemberRecord sender = hello.sender;
  sender.leaving = false;
  r.members[sender.id] = sender;
  if (hello.gateway) r.gateway = hello.gateway;
  // A member the sender no longer reaches (downed, left) goes; so does one of another life.
  std::erase_if(r.members, [&](const auto& e) {
    if (e.first == sender.id) return false;
    return std::none_of(hello.members.begin(), hello.members.end(),
                        [&](const MemberRecord& m) { return m.id == e.first; });
  });
  std::erase_if(r.heard, [&](const auto& e) { return r.members.count(e.first) == 0; });
  r.heard[sender.id] = now;
  IndexMembers();
  return !was_heard || !SameMembers(before, r.members) || gateway_before != r.gateway;
}

bool Datacenters::Adopt(const std::vector<RemoteDcInfo>& told) {
  bool changed = false;
  for (const RemoteDcInfo& d : told) {
    Remote* r = Slot(d.name);
    if (r == nullptr) continue;
    std::map<NodeId, MemberRecord> members;
    for (const MemberRecord& m : d.members) {
      if (m.datacenter == d.name) members[m.id] = m;
    }
    if (!SameMembers(members, r->members) || r->gateway != d.gateway ||
        r->told_reachable != d.reachable) {
      changed = true;
    }
    r->members = std::move(members);
    r->gateway = d.gateway;
    r->told_reachable = d.reachable;
  }
  if (changed) IndexMembers();
  return changed;
}

bool Datacenters::Learn(const std::vector<RemoteDcInfo>& told) {
  bool learned = false;
  for (const RemoteDcInfo& d : told) {
    Remote* r = Slot(d.name);
    if (r == nullptr) continue;
    for (const MemberRecord& m : d.members) {
      if (m.datacenter != d.name || r->members.count(m.id) != 0) continue;
      r->members[m.id] = m;
      remote_ids_.insert(m.id);
      learned = true;
    }
    if (!r->gateway && d.gateway) r->gateway = d.gateway;
  }
  return learned;
}

std::vector<RemoteDcInfo> Datacenters::Gossip(TimeMicros now) const {
  std::vector<RemoteDcInfo> out;
  for (const View& v : Views(/*gateway=*/true, now)) {
    out.push_back(RemoteDcInfo{v.name, v.members, v.gateway, v.reachable});
  }
  return out;
}

bool Datacenters::IsRemote(NodeId node) const { return remote_ids_.count(node) != 0; }

std::optional<NodeId> Datacenters::TargetOf(const Remote& r, const std::string& role,
                                            TimeMicros now) const {
  auto lately = [&](NodeId id) {
    auto h = r.heard.find(id);
    return h != r.heard.end() && now - h->second <= failure_timeout_;
  };
  auto of_role = [&](NodeId id) {
    auto m = r.members.find(id);
    return m != r.members.end() && m->second.role == role;
  };
  if (r.gateway && lately(*r.gateway) && of_role(*r.gateway)) return *r.gateway;
  for (const auto& [id, m] : r.members) {  // ascending ids
    if (m.role == role && lately(id)) return id;
  }
  return std::nullopt;
}

bool Datacenters::Reachable(const Remote& r, bool gateway, TimeMicros now) const {
  if (!gateway) return r.told_reachable;
  return std::any_of(r.heard.begin(), r.heard.end(),
                     [&](const auto& h) { return now - h.second <= failure_timeout_; });
}

std::vector<MemberRecord> Datacenters::ToGreet(const std::string& role, TimeMicros now) const {
  std::vector<MemberRecord> out;
  for (const auto& [name, r] : remotes_) {
    if (std::optional<NodeId> t = TargetOf(r, role, now)) {
      out.push_back(r.members.at(*t));
      continue;
    }
    const bool any_of_role = std::any_of(r.members.begin(), r.members.end(),
                                         [&](const auto& m) { return m.second.role == role; });
    for (const auto& [id, m] : r.members) {
      if ((m.role == role || !any_of_role) && !m.p2p_url.empty()) out.push_back(m);
    }
  }
  return out;
}

std::vector<std::string> Datacenters::ToProbe() const {
  std::vector<std::string> out;
  for (const auto& [name, urls] : seeds_) {
    auto r = remotes_.find(name);
    if (r != remotes_.end() && !r->second.members.empty()) continue;
    out.insert(out.end(), urls.begin(), urls.end());
  }
  return out;
}

std::vector<MemberRecord> Datacenters::AllMembers() const {
  std::vector<MemberRecord> out;
  for (const auto& [name, r] : remotes_) {
    for (const auto& [id, m] : r.members) out.push_back(m);
  }
  return out;
}

std::vector<RemoteDatacenter> Datacenters::ForReplicator(const std::string& role, bool gateway,
                                                         TimeMicros now) const {
  std::vector<RemoteDatacenter> out;
  for (const auto& [name, r] : remotes_) {
    RemoteDatacenter d;
    d.name = name;
    for (const auto& [id, m] : r.members) {
      if (m.role == role) d.members.push_back(id);
    }
    if (gateway) {
      d.target = TargetOf(r, role, now);
    } else if (r.told_reachable && r.gateway && r.members.count(*r.gateway) != 0) {
      d.target = *r.gateway;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Datacenters::View> Datacenters::Views(bool gateway, TimeMicros now) const {
  std::vector<View> out;
  for (const auto& [name, r] : remotes_) {
    View v{name, Reachable(r, gateway, now), r.gateway, {}};
    for (const auto& [id, m] : r.members) v.members.push_back(m);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace convergent::internal
