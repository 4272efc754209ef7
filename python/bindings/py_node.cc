// _core._Node: a real cluster member (convergent/node.h) for cv.Node and cv.LocalCluster, and
// NodeHost, the ReplicaHost its Replicator handle runs on. The node's loop thread never takes
// the GIL; Python threads take the GIL first and the node's lock second, and release the GIL
// whenever they wait (Await, dispatch_events).
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convergent/node.h"
#include "module.h"
#include "py_config.h"
#include "py_errors.h"
#include "py_gil.h"
#include "py_replicator.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

class NodeHost : public ReplicaHost {
 public:
  NodeHost(std::unique_ptr<Node> node, std::string datacenter)
      : node_(std::move(node)), datacenter_(std::move(datacenter)) {}
  ~NodeHost() override {
    py::gil_scoped_release nogil;  // the loop may be waiting for nothing from Python, but be safe
    node_->Stop(true);
  }

  Node& node() { return *node_; }

  void Run(NodeId id, uint64_t incarnation,
           const std::function<void(Replicator&, TimeMicros)>& op) override {
    CheckLive(id, incarnation);
    const Status s = NoGil([&] {
      return node_->Run([&](Replicator& r, TimeMicros now) {
        py::gil_scoped_acquire gil;
        op(r, now);
      });
    });
    if (!s.ok()) Down();
  }

  Result<RequestId> Request(NodeId id, uint64_t incarnation, const RequestFn& op) override {
    CheckLive(id, incarnation);
    Result<RequestId> r = NoGil([&] {
      return node_->Request([&](Replicator& rep, TimeMicros now) {
        py::gil_scoped_acquire gil;
        return op(rep, now);
      });
    });
    if (!r.ok() && !node_->running()) Down();
    return r;
  }

  Completion Await(NodeId id, uint64_t incarnation, RequestId request) override {
    CheckLive(id, incarnation);
    Result<Completion> c = Status::InvalidArgument("");
    {
      GilReleased nogil;
      c = node_->Await(request);
    }
    if (!c.ok()) {
      if (!node_->running()) Down();
      ThrowStatus(c.status());
    }
    return std::move(c).value();
  }

  bool IsLive(NodeId, uint64_t incarnation) const override {
    return incarnation == 0 && node_->running();
  }

  std::string Describe(NodeId) const override { return "node " + node_->name(); }
  std::string DatacenterOf(NodeId) const override { return datacenter_; }

  void DispatchEvents() override {
    if (!node_->has_events()) return;  // the common case after a call: no lock, GIL kept
    Deliver(node_->id(), NoGil([&] { return node_->WaitEvents(0); }));
  }

  // Waits up to `timeout` seconds (GIL released) for events, then delivers them.
  void WaitAndDispatch(double timeout) {
    std::vector<ReplicaEvent> events;
    {
      GilReleased nogil;
      events = node_->WaitEvents(timeout);
    }
    Deliver(node_->id(), events);
  }

 private:
  void CheckLive(NodeId, uint64_t incarnation) const {
    if (!IsLive(0, incarnation)) Down();
  }
  [[noreturn]] void Down() const {
    ThrowError(PyError::kNodeDownError, "node " + node_->name() + " is stopped");
  }

  std::unique_ptr<Node> node_;
  std::string datacenter_;
};

struct PyNode {
  std::shared_ptr<NodeHost> host;
};

std::string OptionalString(const py::handle& v) {
  return v.is_none() ? std::string() : py::str(v).cast<std::string>();
}

}  // namespace

void RegisterNode(py::module_& m) {
  py::class_<PyNode>(m, "_Node", py::is_final(),
                     "A running cluster member (use cv.Node or cv.LocalCluster).")
      .def(py::init([](const std::string& listen, std::vector<std::string> seeds, py::handle name,
                       py::handle config, py::handle p2p_listen, double heartbeat_interval,
                       double failure_timeout, py::handle tls_cert_file, py::handle tls_key_file,
                       py::handle tls_ca_file, size_t max_frame_size, py::handle metrics_listen,
                       py::handle datacenter,
                       std::map<std::string, std::vector<std::string>> remote_seeds,
                       py::handle advertise_host) {
             NodeOptions o;
             o.name = OptionalString(name);
             o.transport.listen = listen;
             o.transport.p2p_listen = OptionalString(p2p_listen);
             o.transport.advertise_host = OptionalString(advertise_host);
             o.transport.tls_cert_file = OptionalString(tls_cert_file);
             o.transport.tls_key_file = OptionalString(tls_key_file);
             o.transport.tls_ca_file = OptionalString(tls_ca_file);
             o.transport.max_frame_size = max_frame_size;
             o.metrics_listen = OptionalString(metrics_listen);
             o.seeds = std::move(seeds);
             o.datacenter = OptionalString(datacenter);
             o.remote_seeds = std::move(remote_seeds);
             NodeOptionsFrom(config, &o);
             o.heartbeat_interval = heartbeat_interval;
             o.failure_timeout = failure_timeout;
             const std::string o_datacenter = o.datacenter;
             Result<std::unique_ptr<Node>> node = Status::InvalidArgument("");
             {
               GilReleased nogil;
               node = Node::Start(std::move(o));
             }
             if (!node.ok()) throw py::value_error(node.status().message());
             return PyNode{std::make_shared<NodeHost>(std::move(node).value(), o_datacenter)};
           }),
           py::arg("listen"), py::kw_only(), py::arg("seeds"), py::arg("name"), py::arg("config"),
           py::arg("p2p_listen"), py::arg("heartbeat_interval"), py::arg("failure_timeout"),
           py::arg("tls_cert_file"), py::arg("tls_key_file"), py::arg("tls_ca_file"),
           py::arg("max_frame_size"), py::arg("metrics_listen"), py::arg("datacenter") = py::none(),
           py::arg("remote_seeds") = std::map<std::string, std::vector<std::string>>{},
           py::arg("advertise_host") = py::none())
      .def_property_readonly("replicator",
                             [](PyNode& self) {
                               Node& n = self.host->node();
                               return MakeHandle(self.host, n.id(), 0, n.replica_id());
                             })
      .def_property_readonly("id", [](PyNode& self) { return self.host->node().id(); })
      .def_property_readonly("name", [](PyNode& self) { return self.host->node().name(); })
      .def_property_readonly("bus_url", [](PyNode& self) { return self.host->node().bus_url(); })
      .def_property_readonly("p2p_url", [](PyNode& self) { return self.host->node().p2p_url(); })
      .def_property_readonly("metrics_url",
                             [](PyNode& self) { return self.host->node().metrics_url(); })
      .def_property_readonly("running", [](PyNode& self) { return self.host->node().running(); })
      .def_property_readonly(
          "ready", [](PyNode& self) { return NoGil([&] { return self.host->node().ready(); }); })
      .def(
          "wait_ready",
          [](PyNode& self, double timeout) {
            const Status s = NoGil([&] { return self.host->node().WaitReady(timeout); });
            if (s.code() == StatusCode::kTimeout) {
              PyErr_SetString(PyExc_TimeoutError, s.message().c_str());
              throw py::error_already_set();
            }
            if (!s.ok()) ThrowError(PyError::kNodeDownError, s.message());
          },
          py::arg("timeout"))
      .def("members",
           [](PyNode& self) {
             py::list out;
             for (const MemberView& v : NoGil([&] { return self.host->node().Members(); })) {
               py::dict d;
               d["id"] = v.id;
               d["name"] = v.name;
               d["url"] = v.bus_url;
               d["role"] = v.role.empty() ? py::object(py::none()) : py::object(py::str(v.role));
               d["reachable"] = v.reachable;
               d["datacenter"] = v.datacenter.empty() ? py::object(py::none())
                                                      : py::object(py::str(v.datacenter));
               d["self"] = v.self;
               out.append(d);
             }
             return out;
           })
      .def("leader", [](PyNode& self) { return NoGil([&] { return self.host->node().Leader(); }); })
      .def(
          "_retire_writer",
          [](PyNode& self, uint64_t writer) {
            NoGil([&] { self.host->node().RetireWriter(convergent::ReplicaId{writer}); });
          },
          py::arg("writer"))
      .def(
          "_step_wall_clock",
          [](PyNode& self, double seconds) { self.host->node().StepWallClock(seconds); },
          py::arg("seconds"))
      .def("metrics",
           [](PyNode& self) {
             py::dict out;
             const auto metrics = NoGil([&] { return self.host->node().Metrics(); });
             for (const auto& [k, v] : metrics) out[py::str(k)] = v;
             return out;
           })
      .def("digest",
           [](PyNode& self) {
             GilReleased nogil;
             return self.host->node().StoreDigest();
           })
      .def(
          "stop",
          [](PyNode& self, bool graceful) {
            {
              GilReleased nogil;
              self.host->node().Stop(graceful);
            }
            self.host->DispatchEvents();
          },
          py::arg("graceful") = true)
      .def(
          "dispatch_events",
          [](PyNode& self, double timeout) { self.host->WaitAndDispatch(timeout); },
          py::arg("timeout"));
  m.attr("_Node").attr("__module__") = "convergent";
}

}  // namespace convergent::bindings
