#include "node/formation.h"

#include <algorithm>
#include <utility>

namespace convergent::internal {

Formation::Formation(std::string self_url, size_t min_members)
    : self_url_(std::move(self_url)), min_members_(std::max<size_t>(min_members, 1)) {}

void Formation::SetSeeds(const std::vector<std::string>& seeds) {
  seeds_.clear();
  for (const std::string& s : seeds) {
    if (s.empty() || s == self_url_) continue;
    if (std::find(seeds_.begin(), seeds_.end(), s) == seeds_.end()) seeds_.push_back(s);
  }
}

void Formation::Reached(const std::string& url, NodeId member) {
  if (!url.empty()) reached_[url] = member;
}

void Formation::Observe(const Membership& m) {
  for (const std::string& seed : seeds_) {
    if (heard_.count(seed) != 0) continue;
    if (reached_.count(seed) != 0 || KnownAs(seed, m, /*heard_only=*/true)) heard_.insert(seed);
  }
}

bool Formation::KnownAs(const std::string& seed, const Membership& m, bool heard_only) const {
  for (const auto& [id, s] : m.members()) {
    if ((s.heard || !heard_only) && s.info.bus_url == seed) return true;
  }
  return false;
}

size_t Formation::UnheardSeeds() const {
  return static_cast<size_t>(std::count_if(seeds_.begin(), seeds_.end(),
                                           [&](const auto& s) { return heard_.count(s) == 0; }));
}

size_t Formation::ReplicaCount(const Membership& m) const {
  // A seed that is a known member (heard of through gossip) counts once, as that member.
  const size_t unknown =
      static_cast<size_t>(std::count_if(seeds_.begin(), seeds_.end(), [&](const auto& s) {
        return heard_.count(s) == 0 && reached_.count(s) == 0 && !KnownAs(s, m, false);
      }));
  return std::max(min_members_, 1 + m.Peers().size() + unknown);
}

bool Formation::Ready(const Membership& m) const {
  if (UnheardSeeds() != 0) return false;
  size_t reachable = 1;
  for (const auto& [id, s] : m.members()) {
    reachable += s.reachable && s.info.role == m.self().role ? 1 : 0;
  }
  return reachable >= min_members_;
}

}  // namespace convergent::internal
