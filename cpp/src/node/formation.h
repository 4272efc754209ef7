// Formation: how a node counts the replicas of its cluster while the cluster forms, and when it
// is ready. A node that knows no member yet must not count N = 1 (a Majority write would then
// be "reached" by the node alone): every configured seed it has not heard from yet counts as one
// replica (once; a seed that is the node itself does not), and N is never below min_members
// (Akka's minCap). A seed is heard when a bus connection this node dialed to it carried a
// member's heartbeat (the node's own, for a seed that is itself under another name), or when a
// member heard straight from has that URL. The node is ready once every seed is heard and
// min_members replicas (itself included) are reachable. Pure logic: the node core feeds it the
// seeds and the dialed connections' heartbeats and reads N and readiness.
//
// Thread safety: none; the node core owns it.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "node/membership.h"

namespace convergent::internal {

class Formation {
 public:
  Formation(std::string self_url, size_t min_members);

  // The seeds as configured (DNS names expanded); the node's own URL is left out.
  void SetSeeds(const std::vector<std::string>& seeds);
  const std::vector<std::string>& seeds() const { return seeds_; }
  // A connection this node dialed to `url` carried a heartbeat of `member` (self included).
  void Reached(const std::string& url, NodeId member);
  // Membership changed: seeds that are members heard from are heard (for good: a seed heard once
  // and downed or gone later does not count again).
  void Observe(const Membership& m);

  // Seeds not heard from yet.
  size_t UnheardSeeds() const;
  bool Heard(const std::string& seed) const { return heard_.count(seed) != 0; }
  // N for Majority/All: max(min_members, 1 + peers + unheard seeds).
  size_t ReplicaCount(const Membership& m) const;
  bool Ready(const Membership& m) const;

 private:
  // A member heard from (or, unless `heard_only`, only heard of) has the URL `seed`.
  bool KnownAs(const std::string& seed, const Membership& m, bool heard_only) const;

  std::string self_url_;
  size_t min_members_;
  std::vector<std::string> seeds_;
  std::map<std::string, NodeId> reached_;  // a dialed URL -> the member that answered on it
  std::set<std::string> heard_;            // seeds heard from
};

}  // namespace convergent::internal
