#include "sim/sim_env.h"

#include <charconv>
#include <utility>

namespace convergent::sim {

std::string BusUrl(NodeId id) { return "sim://" + std::to_string(id); }
std::string P2pUrl(NodeId id) { return BusUrl(id) + "/p2p"; }

std::optional<NodeId> NodeOfUrl(std::string_view url) {
  constexpr std::string_view kScheme = "sim://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  if (url.size() > 4 && url.substr(url.size() - 4) == "/p2p") url.remove_suffix(4);
  NodeId id = 0;
  const auto [end, ec] = std::from_chars(url.data(), url.data() + url.size(), id);
  if (ec != std::errc() || end != url.data() + url.size() || url.empty()) return std::nullopt;
  return id;
}

namespace {

class SimTransport final : public Transport {
 public:
  SimTransport(SimWorld& world, NodeId node)
      : world_(world), node_(node), bus_(BusUrl(node)), p2p_(P2pUrl(node)) {}
  ~SimTransport() override { Close(); }

  const std::string& bus_url() const override { return bus_; }
  const std::string& p2p_url() const override { return p2p_; }
  bool DialBus(const std::string& url) override {
    return !closed_ && NodeOfUrl(url).has_value() && world_.Dial(node_, url);
  }
  void HangUpBus(const std::string& url) override {
    if (!closed_) world_.HangUp(node_, url);
  }
  std::string DialedUrl(uint32_t pipe) const override { return world_.DialedUrl(node_, pipe); }
  void SetPeer(NodeId peer, const std::string& p2p_url) override {
    if (auto id = NodeOfUrl(p2p_url)) peers_[peer] = *id;
  }
  void RemovePeer(NodeId peer) override { peers_.erase(peer); }
  bool Broadcast(std::string_view frame) override {
    return !closed_ && world_.Broadcast(node_, frame);
  }
  bool Send(NodeId peer, std::string_view frame) override {
    auto it = peers_.find(peer);
    return !closed_ && it != peers_.end() && world_.Send(node_, it->second, frame);
  }
  TransportStats stats() const override { return world_.Stats(node_); }
  void Close() override {
    if (closed_) return;
    closed_ = true;
    world_.CloseTransport(node_);
  }

 private:
  SimWorld& world_;
  NodeId node_;
  std::string bus_, p2p_;
  std::map<NodeId, NodeId> peers_;  // a member -> the simulated node of its p2p URL
  bool closed_ = false;
};

// The store a node opens: the simulated node's own, which outlives the node's incarnations.
class StoreHandle final : public SnapshotStore {
 public:
  explicit StoreHandle(SnapshotStore& store) : store_(store) {}
  Status Write(const std::vector<Record>& changes) override { return store_.Write(changes); }
  Result<std::vector<Record>> ReadAll() override { return store_.ReadAll(); }
  Status Clear() override { return store_.Clear(); }
  Status Repair() override { return store_.Repair(); }

 private:
  SnapshotStore& store_;
};

class SimEnv final : public Env {
 public:
  SimEnv(SimWorld& world, NodeId node) : world_(world), node_(node) {}
  TimeMicros MonotonicMicros() override { return world_.Now(); }
  TimeMicros WallMicros() override { return world_.Wall(node_); }
  void Log(LogLevel level, std::string_view, std::string_view message) override {
    world_.Log(node_, level, message);
  }
  uint64_t Random() override { return world_.Random(); }
  Result<std::unique_ptr<Transport>> NewTransport(const TransportOptions&,
                                                  Transport::FrameHandler) override {
    // Frames reach the node through the simulation's event loop, not a handler.
    return std::unique_ptr<Transport>(new SimTransport(world_, node_));
  }
  Result<std::unique_ptr<SnapshotStore>> OpenSnapshotStore(const std::string&,
                                                           std::string* damage) override {
    damage->clear();
    return std::unique_ptr<SnapshotStore>(new StoreHandle(world_.Store(node_)));
  }

 private:
  SimWorld& world_;
  NodeId node_;
};

}  // namespace

std::unique_ptr<Env> NewSimEnv(SimWorld& world, NodeId node) {
  return std::make_unique<SimEnv>(world, node);
}

Status SimSnapshotStore::Write(const std::vector<Record>& changes) {
  if (fail_writes_) return Status::InvalidArgument("simulated disk failure");
  undo_.clear();
  for (const auto& [name, bytes] : changes) {
    damaged_.erase(name);  // rewritten whole
    auto it = records_.find(name);
    undo_.emplace(name, it == records_.end() ? std::nullopt : std::optional(it->second));
    if (bytes.empty()) {
      records_.erase(name);
    } else {
      records_[name] = bytes;
    }
  }
  ++writes_;
  return Status::Ok();
}

Result<std::vector<SnapshotStore::Record>> SimSnapshotStore::ReadAll() {
  if (unreadable_) return Status::Corruption("simulated damage: the store is unreadable");
  if (!damaged_.empty()) {
    return Status::Corruption("simulated damage: a checksum mismatch in record '" +
                              *damaged_.begin() + "'");
  }
  return std::vector<Record>(records_.begin(), records_.end());
}

Status SimSnapshotStore::Clear() {
  records_.clear();
  damaged_.clear();
  undo_.clear();
  return Status::Ok();
}

Status SimSnapshotStore::Repair() {
  if (unreadable_) Clear();
  unreadable_ = false;
  for (const std::string& name : damaged_) records_.erase(name);
  damaged_.clear();
  return Status::Ok();
}

bool SimSnapshotStore::Corrupt(const std::string& name) {
  if (records_.count(name) == 0) return false;
  damaged_.insert(name);
  return true;
}

void SimSnapshotStore::LoseLastWrite() {
  for (auto& [name, before] : undo_) {
    if (before) {
      records_[name] = std::move(*before);
    } else {
      records_.erase(name);
    }
  }
  undo_.clear();
}

}  // namespace convergent::sim
