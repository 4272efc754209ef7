// SimNetwork: the links of the simulated network: loss, latency with jitter and duplication
// (defaults, with per-link overrides in both directions, and one-way loss in one direction),
// latency between datacenters (for every link between their nodes, below per-link overrides) and
// partition groups. It decides the
// fate of each frame copy with the simulation's random source; it does not hold frames.
//
// Thread safety: none; owned by one Simulation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "convergent/replicator.h"
#include "convergent/status.h"

namespace convergent::sim {

// A uniform draw in [0, 1) from 53 random bits: the same on every platform and standard library.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Seconds -> microseconds, rounded to the nearest.
TimeMicros ToMicros(double seconds);

// What happens to one frame on one link: lost, or delivered after delays[0] (and, when
// duplicated, once more after delays[1]).
struct FrameFate {
  bool lost = false;
  int copies = 0;
  TimeMicros delays[2] = {0, 0};
};

class SimNetwork {
 public:
  SimNetwork(double latency, double jitter, double loss, double duplication);

  // Checked as in SimulationOptions::Validate.
  static Status CheckProbability(double p, const char* what);
  static Status CheckLatency(double mean, double jitter);

  Status SetLoss(double p);
  Status SetLatency(double mean, double jitter);
  Status SetDuplication(double p);
  // `one_way`: only frames from a to b (overrides the link's loss in that direction).
  Status SetLinkLoss(NodeId a, NodeId b, double p, bool one_way = false);
  Status SetLinkLatency(NodeId a, NodeId b, double mean, double jitter);
  // Datacenters: node -> datacenter index, and the latency between two datacenters.
  void SetDatacenterOf(NodeId n, int dc) { dc_of_[n] = dc; }
  int DatacenterOf(NodeId n) const {
    auto it = dc_of_.find(n);
    return it == dc_of_.end() ? -1 : it->second;
  }
  Status SetDatacenterLatency(int a, int b, double mean, double jitter);
  void ResetLinks() {
    links_.clear();
    one_way_loss_.clear();
    between_.clear();
  }

  // Groups as in Simulation::Partition; `known` tells which ids may be listed.
  template <typename Known>
  Status Partition(const std::vector<std::vector<NodeId>>& groups, Known known);
  void Heal() { group_of_.clear(); }
  bool partitioned() const { return !group_of_.empty(); }
  // The partition group of a node: 0 for nodes not listed, 1.. for the listed groups.
  int GroupOf(NodeId n) const;
  bool Connected(NodeId a, NodeId b) const { return GroupOf(a) == GroupOf(b); }

  FrameFate Decide(NodeId from, NodeId to, std::mt19937_64& rng) const;
  // The mean one-way delay of the link between a and b (a connection's handshake takes two).
  TimeMicros MeanDelay(NodeId a, NodeId b) const;

 private:
  struct Link {
    std::optional<double> loss;
    std::optional<std::pair<double, double>> latency;  // mean, jitter (seconds)
  };
  static std::pair<NodeId, NodeId> Key(NodeId a, NodeId b) { return std::minmax(a, b); }
  TimeMicros Delay(double mean, double jitter, std::mt19937_64& rng) const;

  double latency_, jitter_, loss_, duplication_;
  std::map<std::pair<NodeId, NodeId>, Link> links_;
  std::map<std::pair<NodeId, NodeId>, double> one_way_loss_;  // (from, to) -> loss
  std::unordered_map<NodeId, int> dc_of_;
  std::map<std::pair<int, int>, std::pair<double, double>> between_;  // datacenters -> latency
  // The latency of a link between datacenters, if one is set.
  const std::pair<double, double>* Between(NodeId a, NodeId b) const;
  std::unordered_map<NodeId, int> group_of_;
};

template <typename Known>
Status SimNetwork::Partition(const std::vector<std::vector<NodeId>>& groups, Known known) {
  std::unordered_map<NodeId, int> group_of;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeId n : groups[g]) {
      if (!known(n)) {
        return Status::InvalidArgument("partition: node " + std::to_string(n) + " is not a member");
      }
      if (!group_of.emplace(n, static_cast<int>(g) + 1).second) {
        return Status::InvalidArgument("partition: node " + std::to_string(n) + " is listed twice");
      }
    }
  }
  group_of_ = std::move(group_of);
  return Status::Ok();
}

}  // namespace convergent::sim
