// The Python Replicator handle (cv.Replicator) and what it runs on: a ReplicaHost, the engine that
// owns the node's C++ Replicator (the simulation in py_simulation.cc; the threaded node later).
// A handle names one incarnation of one node: once that node crashes or restarts, the handle
// raises NodeDownError and the host hands out a new handle for the new incarnation.
//
// Subscriptions live in the host; callbacks run from DispatchEvents(), which the handle and the
// host call at the end of every Python-facing operation, after the engine has returned: never
// inside the engine, never on another thread. A callback that raises does not disturb the
// operation or the other callbacks: its exception goes to sys.unraisablehook (as for __del__).
//
// Thread safety: call with the GIL held; one host is driven by one thread at a time.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convergent/crdt/crdt_type.h"
#include "convergent/replicator.h"

namespace convergent::bindings {

class ReplicaHost {
 public:
  virtual ~ReplicaHost() = default;

  // Runs `op` on the Replicator of that incarnation with the host's clock, then sends what it
  // produced. NodeDownError when the incarnation is not live.
  virtual void Run(NodeId id, uint64_t incarnation,
                   const std::function<void(Replicator&, TimeMicros now)>& op) = 0;
  // As Run, for an operation that starts a request (Update, Delete, Read): the host tracks the
  // request it returns for Await.
  using RequestFn = std::function<Result<RequestId>(Replicator&, TimeMicros now)>;
  virtual Result<RequestId> Request(NodeId id, uint64_t incarnation, const RequestFn& op) = 0;
  // Waits (in a simulation: runs virtual time) until the request completes. NodeDownError when
  // the node goes down first.
  virtual Completion Await(NodeId id, uint64_t incarnation, RequestId request) = 0;
  // Whether that incarnation of the node is up.
  virtual bool IsLive(NodeId id, uint64_t incarnation) const = 0;
  // A short description for reprs and errors ("node 2 of Simulation(seed=0)").
  virtual std::string Describe(NodeId id) const = 0;
  // Hands the change events the engine produced to the subscribers' callbacks.
  virtual void DispatchEvents() = 0;
  // The node's datacenter ("" without datacenters).
  virtual std::string DatacenterOf(NodeId id) const = 0;

  // ---- subscriptions ----
  struct Subscriber {
    uint64_t id;
    CrdtType type;
    pybind11::object key;  // the cv.Key the events carry
    pybind11::object callback;
  };
  // Registers `callback` for (node, key) and subscribes the Replicator; returns the
  // subscription id.
  uint64_t Subscribe(NodeId id, uint64_t incarnation, const std::string& name, CrdtType type,
                     pybind11::object key, pybind11::object callback);
  // Removes a subscription (a cancelled or unknown id does nothing).
  void Unsubscribe(uint64_t subscription);
  // Forgets the subscriptions of a node whose incarnation ended.
  void DropSubscriptions(NodeId id);

 protected:
  // Delivers one node's events to its subscribers.
  void Deliver(NodeId id, const std::vector<ReplicaEvent>& events);

 private:
  struct Place {
    NodeId node;
    uint64_t incarnation;
    std::string name;
  };
  std::map<std::pair<NodeId, std::string>, std::vector<Subscriber>> subscribers_;
  std::map<uint64_t, Place> places_;  // subscription id -> where it is
  uint64_t next_subscription_ = 1;
};

// cv.Replicator: the handle of one incarnation of one node.
struct ReplicatorHandle {
  std::shared_ptr<ReplicaHost> host;
  NodeId node;
  uint64_t incarnation;
  ReplicaId replica;
};

// A new Python handle.
pybind11::object MakeHandle(std::shared_ptr<ReplicaHost> host, NodeId node, uint64_t incarnation,
                            ReplicaId replica);

}  // namespace convergent::bindings
