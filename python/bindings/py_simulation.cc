// cv.Simulation: the deterministic simulator (convergent/simulation.h) scripted from Python, and
// SimHost, the ReplicaHost its Replicator handles run on. Virtual time only moves inside calls:
// run_for, run_until_converged, and blocking (MAJORITY/ALL) calls on a node.
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convergent/simulation.h"
#include "module.h"
#include "py_config.h"
#include "py_crdt.h"
#include "py_errors.h"
#include "py_replicator.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// Virtual seconds run between two checks for Ctrl-C (and deliveries of events).
constexpr double kSliceSeconds = 1.0;

class SimHost : public ReplicaHost {
 public:
  SimHost(std::unique_ptr<Simulation> sim, uint64_t seed) : sim_(std::move(sim)), seed_(seed) {
    for (NodeId id : sim_->members()) Remember(id);
  }

  Simulation& sim() { return *sim_; }
  uint64_t seed() const { return seed_; }

  void Run(NodeId id, uint64_t incarnation,
           const std::function<void(Replicator&, TimeMicros)>& op) override {
    CheckLive(id, incarnation);
    op(sim_->node(id), sim_->now());
    sim_->Collect(id);
  }

  Result<RequestId> Request(NodeId id, uint64_t incarnation, const RequestFn& op) override {
    CheckLive(id, incarnation);
    return sim_->Request(id, op);
  }

  Completion Await(NodeId id, uint64_t incarnation, RequestId request) override {
    CheckLive(id, incarnation);
    Result<Completion> c = sim_->Await(id, request);
    if (!c.ok()) {
      if (!IsLive(id, incarnation)) {
        ThrowError(PyError::kNodeDownError,
                   Describe(id) + " went down before its request completed");
      }
      ThrowStatus(c.status());
    }
    return std::move(c).value();
  }

  bool IsLive(NodeId id, uint64_t incarnation) const override {
    return sim_->IsLive(id) && sim_->incarnation(id) == incarnation;
  }

  std::string DatacenterOf(NodeId id) const override { return sim_->DatacenterOf(id); }

  std::string Describe(NodeId id) const override {
    return "node " + std::to_string(id) + " of Simulation(seed=" + std::to_string(seed_) + ")";
  }

  void DispatchEvents() override {
    for (NodeId id : sim_->members()) Deliver(id, sim_->TakeEvents(id));
  }

  // The handle of a member's current incarnation (crashed ones too: their calls raise).
  py::object HandleOf(std::shared_ptr<ReplicaHost> self, NodeId id) const {
    return MakeHandle(std::move(self), id, sim_->incarnation(id), replicas_.at(id));
  }

  // Records the ReplicaId of a node's new incarnation.
  void Remember(NodeId id) { replicas_[id] = sim_->node(id).replica_id(); }

 private:
  void CheckLive(NodeId id, uint64_t incarnation) const {
    if (IsLive(id, incarnation)) return;
    std::string why;
    if (!sim_->IsMember(id)) {
      why = " was removed";
    } else if (sim_->incarnation(id) != incarnation) {
      why = " has restarted since this handle was made; use sim.nodes[" + std::to_string(id) +
            "] (or the handle restart() returned)";
    } else {
      why = " is crashed; sim.restart(" + std::to_string(id) + ") starts it again";
    }
    ThrowError(PyError::kNodeDownError, Describe(id) + why);
  }

  std::unique_ptr<Simulation> sim_;
  uint64_t seed_;
  std::map<NodeId, ReplicaId> replicas_;  // of each node's latest incarnation
};

struct PySimulation;
std::pair<std::vector<NodeId>, std::vector<NodeId>> NodeGroupsArg(const PySimulation& self,
                                                                  py::handle between);

struct PySimulation {
  std::shared_ptr<SimHost> host;

  Simulation& sim() const { return host->sim(); }

  // A node given as a Replicator handle of this simulation or as a node id; ValueError if it
  // is not a member.
  NodeId NodeArg(py::handle node) const {
    NodeId id = 0;
    if (py::isinstance<ReplicatorHandle>(node)) {
      const auto& h = node.cast<const ReplicatorHandle&>();
      if (h.host.get() != host.get()) {
        throw py::value_error("that Replicator belongs to another simulation");
      }
      id = h.node;
    } else if (PyLong_Check(node.ptr()) && !PyBool_Check(node.ptr())) {
      const long long v = PyLong_AsLongLong(node.ptr());
      if (v == -1 && PyErr_Occurred()) PyErr_Clear();
      if (v < 0) throw py::value_error("node ids are >= 0");
      id = static_cast<NodeId>(v);
    } else {
      throw py::type_error("a node is a Replicator of this simulation or a node id (int), got " +
                           PyTypeName(node));
    }
    if (!sim().IsMember(id)) {
      throw py::value_error("node " + std::to_string(id) + " is not a member of this simulation");
    }
    return id;
  }

  py::object Handle(NodeId id) const { return host->HandleOf(host, id); }

  // Ends the current incarnation of `node` with `end` (crash, restart, removal): its pending
  // events are delivered first, and its subscriptions end with it. Returns the node's id.
  template <typename End>
  NodeId EndIncarnation(py::handle node, End end) {
    const NodeId id = NodeArg(node);
    host->DispatchEvents();
    end(id);
    host->DropSubscriptions(id);
    return id;
  }
};

std::pair<std::vector<NodeId>, std::vector<NodeId>> NodeGroupsArg(const PySimulation& self,
                                                                  py::handle between) {
  py::tuple pair = py::reinterpret_borrow<py::object>(between).cast<py::tuple>();
  std::pair<std::vector<NodeId>, std::vector<NodeId>> out;
  for (py::handle n : pair[0]) out.first.push_back(self.NodeArg(n));
  for (py::handle n : pair[1]) out.second.push_back(self.NodeArg(n));
  return out;
}

void CheckOk(const Status& s) {
  if (!s.ok()) ThrowStatus(s);
}

template <typename T>
T CheckResult(Result<T> r) {
  CheckOk(r.status());
  return std::move(*r);
}

// The datacenters of Simulation(datacenters=...): a dict (or pairs) of name -> node count.
std::vector<std::pair<std::string, int>> DatacentersArg(py::handle dcs) {
  std::vector<std::pair<std::string, int>> out;
  py::object items =
      py::isinstance<py::dict>(dcs) ? dcs.attr("items")() : py::reinterpret_borrow<py::object>(dcs);
  for (py::handle item : items) {
    py::tuple pair = py::reinterpret_borrow<py::object>(item).cast<py::tuple>();
    if (pair.size() != 2 || !py::isinstance<py::str>(pair[0]) || !PyLong_Check(pair[1].ptr()) ||
        PyBool_Check(pair[1].ptr())) {
      throw py::type_error("datacenters must map names (str) to node counts (int)");
    }
    const long long n = pair[1].cast<long long>();
    if (n < 1 || n > 10000) throw py::value_error("datacenters: each needs 1 to 10000 nodes");
    out.emplace_back(pair[0].cast<std::string>(), static_cast<int>(n));
  }
  if (out.empty()) throw py::value_error("datacenters: give at least one");
  return out;
}

// A pair of datacenter names (between=("eu", "us")); ValueError for unknown ones.
std::pair<std::string, std::string> BetweenArg(const PySimulation& self, py::handle between) {
  py::tuple pair = py::reinterpret_borrow<py::object>(between).cast<py::tuple>();
  if (pair.size() != 2 || !py::isinstance<py::str>(pair[0]) || !py::isinstance<py::str>(pair[1])) {
    throw py::type_error("between must be a pair of datacenter names");
  }
  std::pair<std::string, std::string> out{pair[0].cast<std::string>(), pair[1].cast<std::string>()};
  const std::vector<std::string> names = self.sim().Datacenters();
  for (const std::string& n : {out.first, out.second}) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      throw py::value_error("no datacenter '" + n + "' in this simulation");
    }
  }
  if (out.first == out.second) throw py::value_error("between needs two different datacenters");
  return out;
}

// between=(group, group) of nodes rather than of datacenter names.
bool GroupsArg(py::handle between) {
  py::tuple pair = py::reinterpret_borrow<py::object>(between).cast<py::tuple>();
  return pair.size() == 2 && !py::isinstance<py::str>(pair[0]) &&
         py::isinstance<py::iterable>(pair[0]);
}

double CheckSeconds(double s, const char* what) {
  if (!(s >= 0 && s < 1e9)) throw py::value_error(std::string(what) + " must be >= 0 seconds");
  return s;
}

// A convergent._progress.Reporter for `progress` (None: report nothing), and its ending.
class ProgressReport {
 public:
  ProgressReport(const py::object& progress, double total, const char* desc) {
    report_ = py::module_::import("convergent._progress")
                  .attr("reporter")(progress, total, "virtual s", desc);
  }
  ~ProgressReport() {
    if (report_.is_none()) return;
    try {
      report_.attr("close")(note_.empty() ? py::none() : py::cast(note_));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable(__func__);
    }
  }
  void operator()(double done) {
    if (!report_.is_none()) report_(done);
  }
  void Note(std::string note) { note_ = std::move(note); }

 private:
  py::object report_;
  std::string note_;
};

// Runs `seconds` of virtual time in slices, delivering events and checking for Ctrl-C between.
void RunFor(PySimulation& self, double seconds, const py::object& progress) {
  CheckSeconds(seconds, "seconds");
  ProgressReport report(progress, seconds, "run_for");
  double left = seconds;
  while (left > 0) {
    const double slice = std::min(left, kSliceSeconds);
    self.sim().RunFor(slice);
    left -= slice;
    self.host->DispatchEvents();
    report(seconds - std::max(left, 0.0));
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

double RunUntilConverged(PySimulation& self, double timeout, const py::object& progress) {
  if (!(timeout > 0 && timeout < 1e9)) throw py::value_error("timeout must be > 0 seconds");
  ProgressReport report(progress, timeout, "run_until_converged");
  double elapsed = 0;
  while (elapsed < timeout) {
    const double slice = std::min(timeout - elapsed, kSliceSeconds);
    std::optional<double> took = self.sim().RunUntilConverged(slice);
    self.host->DispatchEvents();
    if (took) {
      report(elapsed + *took);
      report.Note("converged");
      return elapsed + *took;
    }
    elapsed += slice;
    report(elapsed);
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
  report.Note("not converged");
  char msg[160];
  std::snprintf(msg, sizeof msg,
                "the simulation did not converge within %g virtual seconds (now %.3f s); a loss "
                "of 1 on a link or a node that cannot reach the others keeps it apart",
                timeout, self.sim().now_seconds());
  ThrowError(PyError::kNotConverged, msg);
}

}  // namespace

void RegisterSimulation(py::module_& m) {
  py::class_<PySimulation>(
      m, "Simulation", py::is_final(),
      "A deterministic cluster of replicators on a simulated network, in virtual time: the same "
      "seed and script give the same run. Nodes are Replicator handles (sim.nodes); the network "
      "loses, duplicates, delays and reorders frames as configured, and is partitioned and "
      "healed, and nodes crash, restart and join, from the script.")
      .def(py::init([](py::handle nodes, uint64_t seed, py::handle config, double latency,
                       double jitter, double loss, double duplication, py::handle datacenters) {
             if (WantsSnapshots(config) && !config.attr("snapshot_dir").is_none()) {
               throw py::value_error(
                   "the Simulation keeps its snapshots in memory: give Config.snapshot_interval "
                   "and leave snapshot_dir None");
             }
             SimulationOptions o;
             if (!datacenters.is_none()) {
               if (!nodes.is_none()) {
                 throw py::value_error("give nodes or datacenters, not both");
               }
               o.datacenters = DatacentersArg(datacenters);
             } else if (!nodes.is_none()) {
               if (!PyLong_Check(nodes.ptr()) || PyBool_Check(nodes.ptr())) {
                 throw py::type_error("nodes must be an int, got " + PyTypeName(nodes));
               }
               o.nodes = nodes.cast<int>();
             }
             o.seed = seed;
             NodeOptionsFrom(config, &o.node);
             // A snapshot interval turns on each node's simulated (in-memory) snapshot store.
             if (WantsSnapshots(config)) o.node.snapshot_dir = "memory";
             o.replicator = o.node.replicator;
             o.latency = latency;
             o.jitter = jitter;
             o.loss = loss;
             o.duplication = duplication;
             Result<std::unique_ptr<Simulation>> sim = Simulation::Create(o);
             if (!sim.ok()) throw py::value_error(sim.status().message());
             return PySimulation{std::make_shared<SimHost>(std::move(sim).value(), seed)};
           }),
           py::arg("nodes") = py::none(), py::arg("seed") = 0, py::arg("config") = py::none(),
           py::kw_only(), py::arg("latency") = 0.001, py::arg("jitter") = 0.0,
           py::arg("loss") = 0.0, py::arg("duplication") = 0.0, py::arg("datacenters") = py::none())
      .def_property_readonly(
          "nodes",
          [](const PySimulation& self) {
            py::list out;
            for (NodeId id : self.sim().members()) out.append(self.Handle(id));
            return out;
          },
          "The Replicator handles of the members, by node id (a crashed node's handle raises "
          "NodeDownError until it restarts).")
      .def_property_readonly(
          "datacenters", [](const PySimulation& self) { return self.sim().Datacenters(); },
          "The names of the datacenters, in order (empty without datacenters).")
      .def(
          "datacenter",
          [](const PySimulation& self, const std::string& name) {
            const std::vector<std::string> names = self.sim().Datacenters();
            if (std::find(names.begin(), names.end(), name) == names.end()) {
              throw py::value_error("no datacenter '" + name + "' in this simulation");
            }
            py::list out;
            for (NodeId id : self.sim().MembersOf(name)) out.append(self.Handle(id));
            return out;
          },
          py::arg("name"), "The Replicator handles of one datacenter's members, by node id.")
      .def_property_readonly(
          "now", [](const PySimulation& self) { return self.sim().now_seconds(); },
          "Virtual time in seconds.")
      .def_property_readonly(
          "seed", [](const PySimulation& self) { return self.host->seed(); },
          "The seed of the run.")
      .def("run_for", &RunFor, py::arg("seconds"), py::kw_only(), py::arg("progress") = py::none(),
           "Processes every event due in the next `seconds` of virtual time. progress: None, "
           "True (a tqdm bar) or a callable(done, total), in virtual seconds.")
      .def(
          "run_until_formed",
          [](PySimulation& self, double timeout) {
            if (!(timeout > 0 && timeout < 1e9))
              throw py::value_error("timeout must be > 0 seconds");
            const double start = self.sim().now_seconds();
            const bool formed = self.sim().RunUntilFormed(timeout);
            self.host->DispatchEvents();
            if (!formed) {
              PyErr_SetString(PyExc_TimeoutError,
                              ("the nodes did not all get ready within " + std::to_string(timeout) +
                               " virtual seconds (a seed that is down or cut off keeps a node "
                               "from being ready)")
                                  .c_str());
              throw py::error_already_set();
            }
            return self.sim().now_seconds() - start;
          },
          py::arg("timeout") = 30.0,
          "Runs until every live node is ready (it has heard from every seed: every other member) "
          "and reaches the others of its partition group; returns the virtual seconds it took. "
          "TimeoutError after `timeout` virtual seconds.")
      .def(
          "skew_clock",
          [](PySimulation& self, py::handle node, double seconds) {
            CheckOk(self.sim().SkewClock(self.NodeArg(node), seconds));
          },
          py::arg("node"), py::arg("seconds"),
          "Steps the node's wall clock by `seconds` (either way; steps add up). Its LWW "
          "timestamps and tombstone ages follow it; its timers (virtual time) do not.")
      .def(
          "fail_snapshot_writes",
          [](PySimulation& self, py::handle node, bool fail) {
            CheckOk(self.sim().FailSnapshotWrites(self.NodeArg(node), fail));
          },
          py::arg("node"), py::arg("fail") = true,
          "While set, every snapshot write of the node fails (a full or broken disk): it is "
          "counted and retried, and replication goes on.")
      .def(
          "corrupt_snapshot",
          [](PySimulation& self, py::handle node, py::handle key) {
            std::optional<std::string> name;
            if (!key.is_none()) {
              const py::object n = py::hasattr(key, "name")
                                       ? key.attr("name")
                                       : py::reinterpret_borrow<py::object>(key);
              if (!py::isinstance<py::str>(n)) {
                throw py::type_error("corrupt_snapshot(): key must be a convergent key or a str");
              }
              name = n.cast<std::string>();
            }
            return CheckResult(self.sim().CorruptSnapshot(self.NodeArg(node), name));
          },
          py::arg("node"), py::arg("key") = py::none(),
          "Damages the node's snapshot record of `key` (False when it has none), or, with no key, "
          "the whole store. The damage is found as a checksum would find it: the node restarts "
          "from what it can read, counts what it lost, and catches up from its peers.")
      .def(
          "lose_last_snapshot_write",
          [](PySimulation& self, py::handle node) {
            CheckOk(self.sim().LoseLastSnapshotWrite(self.NodeArg(node)));
          },
          py::arg("node"),
          "Undoes the node's last snapshot write, as a crash before it reached the disk would "
          "(call it between crash() and restart()).")
      .def("run_until_converged", &RunUntilConverged, py::arg("timeout") = 60.0, py::kw_only(),
           py::arg("progress") = py::none(),
           "Runs until converged(); returns the virtual seconds it took (0.0 if already "
           "converged). NotConverged after `timeout` virtual seconds. progress: None, True (a "
           "tqdm bar) or a callable(done, total), in virtual seconds.")
      .def(
          "converged", [](PySimulation& self) { return self.sim().Converged(); },
          "True when every group of live nodes that reach each other holds identical state for "
          "every key (and tombstone).")
      .def(
          "partition",
          [](PySimulation& self, py::args groups) {
            std::vector<std::vector<NodeId>> g;
            for (py::handle group : groups) {
              std::vector<NodeId> ids;
              if (py::isinstance<py::iterable>(group) && !py::isinstance<py::str>(group)) {
                for (py::handle n : group) ids.push_back(self.NodeArg(n));
              } else {
                ids.push_back(self.NodeArg(group));
              }
              g.push_back(std::move(ids));
            }
            CheckOk(self.sim().Partition(g));
          },
          "Cuts every link between different groups (each a node or a list of nodes); nodes in "
          "no group form one more group. Replaces the previous partition.")
      .def(
          "heal", [](PySimulation& self) { self.sim().Heal(); },
          "Removes the partition (link settings stay).")
      .def(
          "set_loss",
          [](PySimulation& self, double p, std::optional<std::pair<py::object, py::object>> link,
             bool one_way) {
            if (link) {
              CheckOk(self.sim().SetLinkLoss(self.NodeArg(link->first), self.NodeArg(link->second),
                                             p, one_way));
            } else if (one_way) {
              throw py::value_error("one_way=True needs link=(from, to)");
            } else {
              CheckOk(self.sim().SetLoss(p));
            }
          },
          py::arg("p"), py::kw_only(), py::arg("link") = py::none(), py::arg("one_way") = false,
          "The probability that a frame is lost, in [0, 1); with link=(a, b) for that link "
          "only (both directions), where p may be 1 (a cut link); with one_way=True as well, "
          "only frames from a to b (a link that fails in one direction).")
      .def(
          "set_latency",
          [](PySimulation& self, double mean, double jitter,
             std::optional<std::pair<py::object, py::object>> link, py::handle between) {
            if (link && !between.is_none()) {
              throw py::value_error("give link or between, not both");
            }
            if (!between.is_none()) {
              const auto [a, b] = BetweenArg(self, between);
              CheckOk(self.sim().SetDatacenterLatency(a, b, mean, jitter));
            } else if (link) {
              CheckOk(self.sim().SetLinkLatency(self.NodeArg(link->first),
                                                self.NodeArg(link->second), mean, jitter));
            } else {
              CheckOk(self.sim().SetLatency(mean, jitter));
            }
          },
          py::arg("mean"), py::arg("jitter") = 0.0, py::kw_only(), py::arg("link") = py::none(),
          py::arg("between") = py::none(),
          "The one-way delay of a frame: mean plus a uniform draw in [-jitter, +jitter] seconds "
          "(so frames overtake each other); with link=(a, b) for that link only; with "
          "between=(dc1, dc2) for every link between the two datacenters (the WAN).")
      .def(
          "set_duplication",
          [](PySimulation& self, double p) { CheckOk(self.sim().SetDuplication(p)); }, py::arg("p"),
          "The probability that a delivered frame arrives a second time.")
      .def(
          "reset_links", [](PySimulation& self) { self.sim().ResetLinks(); },
          "Drops every per-link setting.")
      .def(
          "crash",
          [](PySimulation& self, py::handle node) {
            self.EndIncarnation(node, [&](NodeId id) { self.sim().Crash(id); });
          },
          py::arg("node"),
          "Crashes the node: its memory is lost, frames to it are dropped, its handle raises "
          "NodeDownError. It stays a member (counted by MAJORITY/ALL) until restart().")
      .def(
          "restart",
          [](PySimulation& self, py::handle node) {
            const NodeId id = self.EndIncarnation(node, [&](NodeId n) { self.sim().Restart(n); });
            self.host->Remember(id);
            return self.Handle(id);
          },
          py::arg("node"),
          "Starts a new incarnation of the node (crashing it first if it is up): an empty store "
          "and a new replica id; it catches up by anti-entropy. Returns its new handle.")
      .def(
          "add_node",
          [](PySimulation& self, std::optional<std::string> datacenter) {
            NodeId id = 0;
            if (datacenter) {
              Result<NodeId> added = self.sim().AddNode(*datacenter);
              if (!added.ok()) throw py::value_error(added.status().message());
              id = *added;
            } else {
              id = self.sim().AddNode();
            }
            self.host->Remember(id);
            return self.Handle(id);
          },
          py::kw_only(), py::arg("datacenter") = py::none(),
          "A new node (the next id) that joins the cluster (with datacenters: the first one, or "
          "`datacenter`); returns its handle.")
      .def(
          "remove_node",
          [](PySimulation& self, py::handle node) {
            self.EndIncarnation(node, [&](NodeId id) { self.sim().RemoveNode(id); });
          },
          py::arg("node"), "The node leaves the cluster for good.")
      .def(
          "trace_hash", [](const PySimulation& self) { return self.sim().TraceHash(); },
          "A hash of every frame delivered so far: equal for runs with the same seed and "
          "script.")
      .def(
          "network_stats",
          [](const PySimulation& self, py::handle between) {
            Simulation::NetworkStats s = self.sim().network_stats();
            if (!between.is_none() && GroupsArg(between)) {
              const auto [a, b] = NodeGroupsArg(self, between);
              s = self.sim().NetworkStatsBetween(a, b);
            } else if (!between.is_none()) {
              const auto [a, b] = BetweenArg(self, between);
              s = self.sim().NetworkStatsBetween(a, b);
            }
            py::dict d;
            d["sent"] = s.sent;
            d["delivered"] = s.delivered;
            d["lost"] = s.lost;
            d["cut"] = s.cut;
            d["to_down"] = s.to_down;
            d["duplicated"] = s.duplicated;
            d["bytes_delivered"] = s.bytes_delivered;
            d["queue_dropped"] = s.queue_dropped;
            d["oversized"] = s.oversized;
            d["connections_made"] = s.connections_made;
            d["connections_refused"] = s.connections_refused;
            return d;
          },
          py::kw_only(), py::arg("between") = py::none(),
          "Frame counts of the simulated network: sent, delivered, lost, cut (by a partition), "
          "to_down (to a crashed node), duplicated, and bytes_delivered; with between=(dc1, dc2) "
          "only for the frames between the two datacenters (both ways), and with between=(nodes, "
          "nodes) between two groups of nodes (e.g. the halves of a cluster).")
      .def("__repr__", [](const PySimulation& self) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "<Simulation nodes=%zu live=%zu now=%.3fs>",
                      self.sim().members().size(), self.sim().live_nodes().size(),
                      self.sim().now_seconds());
        return std::string(buf);
      });
  m.attr("Simulation").attr("__module__") = "convergent";
}

}  // namespace convergent::bindings
