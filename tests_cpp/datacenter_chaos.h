// DatacenterChaos: one seeded chaos run of datacenters in the simulator, shared by the tests
// (datacenter_test.cc) and the soak program (benchmarks/soak.cc, --datacenters). Violations are
// collected as readable lines, not asserted, so that the same code serves gtest and a plain
// program.
//
// Thread safety: none; one run per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chaos_workload.h"
#include "convergent/codec.h"
#include "convergent/simulation.h"
#include "replication_test_support.h"

namespace convergent::test {

// Chaos across datacenters: random LOCAL and DC-level writes, removes and deletes from random
// nodes while WAN links lose frames and are cut between datacenters, and nodes crash and restart
// (gateways included: every node but the last of each datacenter, one at a time per
// datacenter). Oracles: at each DC_MAJORITY / DC_ALL acknowledgement, a majority of the writer's
// datacenter and of each datacenter the level counts holds the write (when nothing crashed
// meanwhile); after the heal every replica converges, every counter lies between what the stable
// nodes and live incarnations wrote and all that was written, each set element (one writer: the
// stable node of its datacenter) is present exactly when its last operation was an add, and a
// key a stable node deleted is deleted everywhere.
class DatacenterChaos {
 public:
  explicit DatacenterChaos(uint64_t seed) : seed_(seed), rng_(seed * 7919 + 3) {
    SimulationOptions so;
    so.datacenters =
        seed % 2 ? std::vector<std::pair<std::string, int>>{{"eu", 3}, {"us", 3}}
                 : std::vector<std::pair<std::string, int>>{{"eu", 3}, {"us", 2}, {"ap", 2}};
    so.seed = seed;
    so.replicator.anti_entropy_interval = 0.5;
    so.replicator.delta_flush_interval = 0.1;
    so.replicator.coordination_timeout = 1.0;
    so.replicator.dc_replication_interval = 0.1;
    so.replicator.dc_anti_entropy_interval = 2.0;
    so.replicator.dc_send_timeout = 0.5;
    so.replicator.max_frame_size = seed % 4 == 1 ? 2048 : so.replicator.max_frame_size;
    so.node.heartbeat_interval = 0.1;
    so.node.failure_timeout = 0.5;
    so.node.snapshot_dir = "sim";
    so.node.snapshot_interval = 0.2;
    so.latency = 0.003;
    so.jitter = 0.002;
    sim_ = std::make_unique<Simulation>(so);
    for (const std::string& dc : sim_->Datacenters()) {
      const std::vector<NodeId> m = sim_->MembersOf(dc);
      dcs_.push_back(m);
      stable_.insert(m.back());
    }
    sim_->ObserveCompletions([this](NodeId n, const Completion& c) { OnCompletion(n, c); });
  }

  void Run(int operations) {
    if (!sim_->RunUntilFormed(30.0)) failures_.push_back("did not form");
    for (NodeId a = 0; a < Nodes(); ++a) {
      for (NodeId b = a + 1; b < Nodes(); ++b) {
        if (sim_->DatacenterOf(a) != sim_->DatacenterOf(b)) {
          Ok(sim_->SetLinkLatency(a, b, 0.03, 0.01));
        }
      }
    }
    for (int i = 0; i < operations; ++i) {
      Fault();
      Operation();
      sim_->RunFor(Uniform(0.0, 0.05));
    }
    sim_->Heal();
    sim_->ResetLinks();
    for (NodeId n = 0; n < Nodes(); ++n) {
      if (!sim_->IsLive(n)) {
        sim_->Restart(n);
        ++crashes_;  // (requests still running are not checked against it)
      }
    }
    if (!sim_->RunUntilConverged(60.0)) failures_.push_back("did not converge after the heal");
    Check();
  }

  const std::vector<std::string>& failures() const { return failures_; }
  uint64_t acks_checked() const { return acks_checked_; }

 private:
  NodeId Nodes() const { return static_cast<NodeId>(sim_->members().size()); }
  double Uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  void Ok(const Status& s) {
    if (!s.ok()) failures_.push_back("setup: " + s.ToString());
  }
  size_t DcOf(NodeId n) const {
    for (size_t d = 0; d < dcs_.size(); ++d) {
      if (std::find(dcs_[d].begin(), dcs_[d].end(), n) != dcs_[d].end()) return d;
    }
    return 0;
  }

  void Fault() {
    const double r = Uniform(0, 1);
    if (r < 0.03) {  // the WAN cut between one datacenter and the others
      Ok(sim_->Partition({dcs_[Pick(dcs_.size())]}));
    } else if (r < 0.06) {
      sim_->Heal();
    } else if (r < 0.09) {  // lossy WAN links
      const double loss = Uniform(0.0, 0.5);
      for (NodeId a = 0; a < Nodes(); ++a) {
        for (NodeId b = a + 1; b < Nodes(); ++b) {
          if (DcOf(a) != DcOf(b)) Ok(sim_->SetLinkLoss(a, b, loss));
        }
      }
    } else if (r < 0.13) {  // a crash (one crashed node per datacenter at most)
      const NodeId n = static_cast<NodeId>(Pick(Nodes()));
      if (stable_.count(n) != 0 || !sim_->IsLive(n)) return;
      for (NodeId m : dcs_[DcOf(n)]) {
        if (!sim_->IsLive(m)) return;
      }
      sim_->Crash(n);
      ++crashes_;
    } else if (r < 0.18) {
      for (NodeId n = 0; n < Nodes(); ++n) {
        if (!sim_->IsLive(n)) {
          sim_->Restart(n);  // (its store starts over: counts before are not comparable)
          ++crashes_;
          break;
        }
      }
    }
  }

  void Operation() {
    const NodeId n = static_cast<NodeId>(Pick(Nodes()));
    if (!sim_->IsLive(n)) return;
    const double r = Uniform(0, 1);
    Replicator& rep = sim_->node(n);
    const uint64_t inc = sim_->incarnation(n);
    if (r < 0.5) {  // a LOCAL increment
      const std::string key = "c" + std::to_string(Pick(8));
      if (sim_->Update(n, key, CrdtType::kGCounter, GIncrement(rep.replica_id())).ok()) {
        written_[key][{n, inc}] += 1;
      }
    } else if (r < 0.65) {  // a DC-level increment, checked at its acknowledgement
      const std::string key = "a" + std::to_string(Pick(4));
      const Consistency level = Pick(2) ? Consistency::kDcMajority : Consistency::kDcAll;
      std::map<NodeId, uint64_t> before = CountAt(key);
      auto id = sim_->Update(n, key, CrdtType::kGCounter, GIncrement(rep.replica_id()), level);
      if (id.ok()) {
        written_[key][{n, inc}] += 1;
        if (*id != 0) pending_[{n, *id}] = Pending{key, level, std::move(before), crashes_};
      }
    } else if (r < 0.9) {  // the stable node of its datacenter adds or removes its element
      const NodeId owner = dcs_[DcOf(n)].back();
      if (!sim_->IsLive(owner)) return;
      const std::string element = "e" + std::to_string(DcOf(n)) + "-" + std::to_string(Pick(6));
      const bool add = Pick(3) != 0;
      Replicator& o = sim_->node(owner);
      const Value v = StringValue(element);
      const auto done =
          add ? sim_->Update(owner, "set", CrdtType::kORSet, SetAdd(o.replica_id(), v))
              : sim_->Update(owner, "set", CrdtType::kORSet, SetRemove(v));
      if (done.ok()) last_op_[element] = add;
    } else {  // a stable node deletes a key others may write to
      const NodeId owner = dcs_[DcOf(n)].back();
      const std::string key = "d" + std::to_string(Pick(3));
      if (Pick(2)) {
        sim_->Update(n, key, CrdtType::kGCounter, GIncrement(rep.replica_id()));
      } else if (sim_->IsLive(owner) && sim_->Delete(owner, key, CrdtType::kGCounter).ok()) {
        deleted_.insert(key);
      }
    }
  }

  struct Pending {
    std::string key;
    Consistency level = Consistency::kDcMajority;
    std::map<NodeId, uint64_t> before;  // each node's count when the write started
    uint64_t crashes = 0;
  };

  std::map<NodeId, uint64_t> CountAt(const std::string& key) {
    std::map<NodeId, uint64_t> out;
    for (NodeId n : sim_->live_nodes()) out[n] = GCount(sim_->node(n), key);
    return out;
  }

  void OnCompletion(NodeId n, const Completion& c) {
    auto it = pending_.find({n, c.id});
    if (it == pending_.end()) return;
    const Pending p = it->second;
    pending_.erase(it);
    if (!c.status.ok()) return;         // a timeout: nothing promised
    if (p.crashes != crashes_) return;  // a holder may have crashed or restarted since
    ++acks_checked_;
    // Holders: live nodes whose count grew since the write started (each write adds 1).
    std::vector<size_t> holders(dcs_.size(), 0);
    for (NodeId m : sim_->live_nodes()) {
      auto before = p.before.find(m);
      if (before != p.before.end() && GCount(sim_->node(m), p.key) > before->second) {
        ++holders[DcOf(m)];
      }
    }
    size_t dcs_with_majority = 0;
    for (size_t d = 0; d < dcs_.size(); ++d) {
      if (holders[d] >= dcs_[d].size() / 2 + 1) ++dcs_with_majority;
    }
    const size_t mine = DcOf(n);
    const bool ok = holders[mine] >= dcs_[mine].size() / 2 + 1 &&
                    (p.level == Consistency::kDcAll ? dcs_with_majority == dcs_.size()
                                                    : dcs_with_majority >= dcs_.size() / 2 + 1);
    if (!ok) {
      failures_.push_back(
          "seed " + std::to_string(seed_) + ": a DC-level write of " + p.key + " from node " +
          std::to_string(n) + " was acknowledged before enough " + "datacenters held it (" +
          (p.level == Consistency::kDcAll ? "DC_ALL" : "DC_MAJORITY") + ", holders by datacenter " +
          Joined(holders) + ", at " + std::to_string(sim_->now_seconds()) + " s)");
    }
  }

  static std::string Joined(const std::vector<size_t>& v) {
    std::string out;
    for (size_t x : v) out += (out.empty() ? "" : "/") + std::to_string(x);
    return out;
  }

  void Check() {
    for (const std::string& diff : CompareReplicas(*sim_)) failures_.push_back(diff);
    const NodeId any = sim_->live_nodes().front();
    for (const auto& [key, by] : written_) {
      uint64_t must = 0, all = 0;
      for (const auto& [who, count] : by) {
        all += count;
        if (stable_.count(who.first) != 0 || sim_->incarnation(who.first) == who.second) {
          must += count;
        }
      }
      const uint64_t have = GCount(sim_->node(any), key);
      if (have < must || have > all) {
        failures_.push_back("seed " + std::to_string(seed_) + ": " + key + " is " +
                            std::to_string(have) + ", not in [" + std::to_string(must) + ", " +
                            std::to_string(all) + "]");
      }
    }
    auto set = sim_->node(any).Get("set", CrdtType::kORSet);
    for (const auto& [element, present] : last_op_) {
      const bool has =
          set.ok() && *set != nullptr && (*set)->get_if<ORSet>()->Contains(StringValue(element));
      if (has != present) {
        failures_.push_back("seed " + std::to_string(seed_) + ": element " + element +
                            (present ? " is missing" : " is present after its remove"));
      }
    }
    for (const std::string& key : deleted_) {
      for (NodeId n : sim_->live_nodes()) {
        if (!sim_->node(n).IsDeleted(key)) {
          failures_.push_back("seed " + std::to_string(seed_) + ": " + key +
                              " is not deleted on node " + std::to_string(n));
        }
      }
    }
  }

  uint64_t seed_;
  std::mt19937_64 rng_;
  std::unique_ptr<Simulation> sim_;
  std::vector<std::vector<NodeId>> dcs_;
  std::set<NodeId> stable_;  // the last node of each datacenter: never crashes
  uint64_t crashes_ = 0;     // crashes and restarts
  // Increments per key by (node, incarnation).
  std::map<std::string, std::map<std::pair<NodeId, uint64_t>, uint64_t>> written_;
  std::map<std::pair<NodeId, RequestId>, Pending> pending_;
  std::map<std::string, bool> last_op_;  // element -> its last operation was an add
  std::set<std::string> deleted_;
  uint64_t acks_checked_ = 0;
  std::vector<std::string> failures_;
};

}  // namespace convergent::test
