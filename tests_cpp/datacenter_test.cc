// Multiple datacenters in the simulator (docs/concepts.md, "Multiple datacenters"): gateways find
// each other through seeds, every update made anywhere in a datacenter reaches every node of the
// others, once per datacenter on the WAN, through partitions and gateway crashes.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convergent/simulation.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using namespace test;  // NOLINT(build/namespaces): the mutation helpers

SimulationOptions DcOptions(std::vector<std::pair<std::string, int>> dcs, uint64_t seed) {
  SimulationOptions so;
  so.datacenters = std::move(dcs);
  so.seed = seed;
  so.replicator.anti_entropy_interval = 5.0;
  so.replicator.dc_replication_interval = 0.2;
  so.replicator.dc_anti_entropy_interval = 30.0;
  so.replicator.dc_send_timeout = 1.0;
  return so;
}

uint64_t CountOn(Simulation& sim, NodeId n, const std::string& key) {
  auto v = sim.node(n).Get(key, CrdtType::kGCounter);
  if (!v.ok() || *v == nullptr) return 0;
  return (*v)->get_if<GCounter>()->value();
}

double Metric(Simulation& sim, NodeId n, const std::string& name) {
  auto m = sim.NodeMetrics(n);
  auto it = m.find(name);
  return it == m.end() ? -1 : it->second;
}

TEST(DatacenterTest, NodesKnowTheirDatacenterAndTheOthersThroughSeeds) {
  auto sim = std::make_unique<Simulation>(DcOptions({{"eu", 3}, {"us", 2}}, 1));
  EXPECT_EQ(sim->Datacenters(), (std::vector<std::string>{"eu", "us"}));
  EXPECT_EQ(sim->MembersOf("eu"), (std::vector<NodeId>{0, 1, 2}));
  EXPECT_EQ(sim->MembersOf("us"), (std::vector<NodeId>{3, 4}));
  EXPECT_EQ(sim->DatacenterOf(4), "us");
  ASSERT_TRUE(sim->RunUntilFormed(30.0));
  for (NodeId n = 0; n < 5; ++n) {
    EXPECT_EQ(sim->node(n).datacenter(), n < 3 ? "eu" : "us");
    // Peers are the node's own datacenter only; Majority counts those.
    EXPECT_EQ(sim->node(n).peers().size(), n < 3 ? 2u : 1u) << n;
    EXPECT_EQ(sim->node(n).replica_count(), n < 3 ? 3u : 2u) << n;
    EXPECT_EQ(Metric(*sim, n, "convergent.datacenters.reachable"), 1.0) << n;
  }
  // One gateway per datacenter: the leader (the smallest id).
  EXPECT_EQ(Metric(*sim, 0, "crdt.replicator.crossdc.gateway"), 1.0);
  EXPECT_EQ(Metric(*sim, 1, "crdt.replicator.crossdc.gateway"), 0.0);
  EXPECT_EQ(Metric(*sim, 3, "crdt.replicator.crossdc.gateway"), 1.0);
  EXPECT_EQ(Metric(*sim, 4, "crdt.replicator.crossdc.gateway"), 0.0);
}

TEST(DatacenterTest, AnUpdateOnAnyNodeReachesEveryNodeOfTheOtherDatacenter) {
  auto sim = std::make_unique<Simulation>(DcOptions({{"eu", 3}, {"us", 3}}, 2));
  ASSERT_TRUE(sim->RunUntilFormed(30.0));
  for (NodeId n = 0; n < 6; ++n) {
    ASSERT_TRUE(
        sim->Update(n, "k", CrdtType::kGCounter, GIncrement(sim->node(n).replica_id(), n + 1))
            .ok());
  }
  sim->RunFor(2.0);  // well under an anti-entropy interval: batches and relays did it
  for (NodeId n = 0; n < 6; ++n) EXPECT_EQ(CountOn(*sim, n, "k"), 21u) << n;
  ASSERT_TRUE(sim->RunUntilConverged(10.0).has_value());
  // Only the gateways sent batches.
  for (NodeId n = 0; n < 6; ++n) {
    const double sent = Metric(*sim, n, "crdt.replicator.crossdc.send.count");
    if (n == 0 || n == 3) {
      EXPECT_GT(sent, 0.0) << n;
    } else {
      EXPECT_EQ(sent, 0.0) << n;
    }
  }
}

TEST(DatacenterTest, DeletesCrossToo) {
  auto sim = std::make_unique<Simulation>(DcOptions({{"eu", 2}, {"us", 2}}, 3));
  ASSERT_TRUE(sim->RunUntilFormed(30.0));
  ASSERT_TRUE(
      sim->Update(1, "gone", CrdtType::kGCounter, GIncrement(sim->node(1).replica_id())).ok());
  sim->RunFor(2.0);
  EXPECT_EQ(CountOn(*sim, 3, "gone"), 1u);
  ASSERT_TRUE(sim->Delete(1, "gone", CrdtType::kGCounter).ok());
  sim->RunFor(2.0);
  for (NodeId n = 0; n < 4; ++n) EXPECT_TRUE(sim->node(n).IsDeleted("gone")) << n;
}

}  // namespace
}  // namespace convergent
