#include "node/bus_links.h"

#include <algorithm>

namespace convergent::internal {

BusLinks::BusLinks(NodeId self, TimeMicros stale_after) : self_(self), stale_after_(stale_after) {}

std::optional<uint32_t> BusLinks::Heard(NodeId member, uint32_t pipe, bool dialed, TimeMicros now) {
  std::erase_if(owners_, [&](const auto& o) {
    return now - o.second.last_heard > kOwnerMemory * stale_after_;
  });
  owners_[pipe] = Owner{member, now};
  std::vector<Link>& links = links_[member];
  std::erase_if(links, [&](const Link& l) { return now - l.last_heard > stale_after_; });
  auto it = std::find_if(links.begin(), links.end(), [&](const Link& l) { return l.pipe == pipe; });
  if (it == links.end()) {
    links.push_back(Link{pipe, dialed, now, now});
  } else {
    it->last_heard = now;
  }
  if (links.size() < 2) return std::nullopt;
  // The connection to keep: the one the smaller id dialed, the oldest of them; failing that
  // (the smaller id dialed none that is heard), the oldest.
  const bool keep_dialed = self_ < member;
  auto better = [&](const Link& a, const Link& b) {
    const bool a_pref = a.dialed == keep_dialed, b_pref = b.dialed == keep_dialed;
    if (a_pref != b_pref) return a_pref;
    return a.first_heard != b.first_heard ? a.first_heard < b.first_heard : a.pipe < b.pipe;
  };
  const Link keep = *std::min_element(links.begin(), links.end(), better);
  for (auto l = links.begin(); l != links.end(); ++l) {
    if (l->pipe != keep.pipe && l->dialed) {
      const uint32_t drop = l->pipe;
      links.erase(l);
      return drop;
    }
  }
  return std::nullopt;  // the redundant ones are the other node's to hang up
}

void BusLinks::Forget(NodeId member) {
  links_.erase(member);
  std::erase_if(owners_, [&](const auto& o) { return o.second.member == member; });
}

std::optional<NodeId> BusLinks::OwnerOf(uint32_t pipe) const {
  auto it = owners_.find(pipe);
  if (it == owners_.end()) return std::nullopt;
  return it->second.member;
}

}  // namespace convergent::internal
