// The simulated world as the nodes of a Simulation see it. SimWorld is what the simulation
// offers (virtual clocks, the simulated network, snapshot stores that survive crashes); SimEnv
// and its SimTransport adapt it to the Env and Transport a NodeCore uses, so every node of the
// simulator runs the same node core as a real node. SimSnapshotStore is the in-memory store of
// one simulated node, with faults on demand: failing writes, damaged records, a lost last write.
//
// Thread safety: none; everything belongs to the one thread driving the Simulation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "convergent/env.h"
#include "convergent/snapshot_store.h"
#include "convergent/transport.h"

namespace convergent::sim {

// The URLs of simulated node `id`: "sim://<id>" (bus) and "sim://<id>/p2p".
std::string BusUrl(NodeId id);
std::string P2pUrl(NodeId id);
// The node a bus or p2p URL names; nullopt for any other string.
std::optional<NodeId> NodeOfUrl(std::string_view url);

class SimWorld {
 public:
  virtual ~SimWorld() = default;
  virtual TimeMicros Now() const = 0;
  virtual TimeMicros Wall(NodeId node) const = 0;
  virtual uint64_t Random() = 0;
  virtual void Log(NodeId node, LogLevel level, std::string_view message) = 0;
  // The transport of `node`'s current incarnation (see Transport for the meaning).
  virtual bool Dial(NodeId node, const std::string& url) = 0;
  virtual void HangUp(NodeId node, const std::string& url) = 0;
  virtual std::string DialedUrl(NodeId node, uint32_t pipe) const = 0;
  virtual bool Broadcast(NodeId node, std::string_view frame) = 0;
  virtual bool Send(NodeId node, NodeId peer, std::string_view frame) = 0;
  virtual TransportStats Stats(NodeId node) const = 0;
  virtual void CloseTransport(NodeId node) = 0;
  // The node's snapshot store (it outlives the node's incarnations).
  virtual SnapshotStore& Store(NodeId node) = 0;
};

// The Env of simulated node `node`: virtual time, its own wall clock, the world's random source.
std::unique_ptr<Env> NewSimEnv(SimWorld& world, NodeId node);

class SimSnapshotStore final : public SnapshotStore {
 public:
  Status Write(const std::vector<Record>& changes) override;
  Result<std::vector<Record>> ReadAll() override;
  Status Clear() override;
  Status Repair() override;

  // ---- faults ----
  // While set, every Write fails (a full or broken disk) and changes nothing.
  void set_fail_writes(bool fail) { fail_writes_ = fail; }
  // Damages the record `name` (false when there is none). As in a checksummed store, the
  // damage is found: ReadAll fails until Repair, which drops the damaged records only.
  bool Corrupt(const std::string& name);
  // The whole store reads as damaged until Repair (then it is empty).
  void set_unreadable(bool unreadable) { unreadable_ = unreadable; }
  // A crash that loses the last write (it had not reached the disk).
  void LoseLastWrite();

  size_t size() const { return records_.size(); }
  uint64_t writes() const { return writes_; }

 private:
  std::map<std::string, std::string> records_;
  std::set<std::string> damaged_;
  // What the last write replaced: name -> the record before it (nullopt: it did not exist).
  std::map<std::string, std::optional<std::string>> undo_;
  bool fail_writes_ = false;
  bool unreadable_ = false;
  uint64_t writes_ = 0;
};

}  // namespace convergent::sim
