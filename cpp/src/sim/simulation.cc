// Simulation (convergent/simulation.h): nodes running the node core, the event loop, the
// NNG-like bus (connections, their queues), local requests and observation. The links are
// decided by SimNetwork (sim/network.h), the agenda is an EventQueue, and the nodes see all of it
// through SimWorld (sim/sim_env.h).
#include "convergent/simulation.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "node/node_codec.h"
#include "node/node_core.h"
#include "replica/frame_codec.h"
#include "sim/event_queue.h"
#include "sim/network.h"
#include "sim/sim_env.h"

namespace convergent {

using sim::ToMicros;

NodeOptions SimulationOptions::DefaultNodeOptions() {
  NodeOptions o;
  o.transport.listen = "sim://";  // replaced per node
  return o;
}

Status SimulationOptions::Validate() const {
  if (datacenters.empty()) {
    if (nodes < 1 || nodes > 10000) return Status::InvalidArgument("nodes must be in [1, 10000]");
  } else {
    int total = 0;
    std::set<std::string> names;
    for (const auto& [name, count] : datacenters) {
      if (name.empty()) return Status::InvalidArgument("datacenters: a name is empty");
      if (!names.insert(name).second) {
        return Status::InvalidArgument("datacenters: '" + name + "' is listed twice");
      }
      if (count < 1 || count > 10000) {
        return Status::InvalidArgument("datacenters: '" + name + "' needs 1 to 10000 nodes");
      }
      total += count;
    }
    if (total > 10000) return Status::InvalidArgument("datacenters: at most 10000 nodes in all");
  }
  if (Status s = sim::SimNetwork::CheckLatency(latency, jitter); !s.ok()) return s;
  if (Status s = sim::SimNetwork::CheckProbability(loss, "loss"); !s.ok()) return s;
  if (Status s = sim::SimNetwork::CheckProbability(duplication, "duplication"); !s.ok()) return s;
  if (!(frame_cost >= 0 && frame_cost < 1)) {
    return Status::InvalidArgument("frame_cost must be in [0, 1) seconds");
  }
  if (!(reconnect_interval > 0 && reconnect_interval < 3600)) {
    return Status::InvalidArgument("reconnect_interval must be > 0 seconds");
  }
  if (Status s = replicator.Validate(); !s.ok()) return s;
  NodeOptions n = node;
  n.replicator = replicator;
  n.transport.listen = "sim://0";
  return n.Validate();
}

namespace {

// Trace kinds: the replicator's frame kinds, then these.
constexpr uint64_t kHeartbeatKind = kFrameKinds;
constexpr uint64_t kUnknownKind = kFrameKinds + 1;

const char* KindName(uint64_t kind) {
  if (kind < static_cast<uint64_t>(kFrameKinds)) {
    return FrameKindName(static_cast<FrameKind>(kind));
  }
  return kind == kHeartbeatKind ? "heartbeat" : "unknown";
}

// The kind of a node frame (behind its bus header when it came by the bus), for the trace.
uint64_t KindOf(std::string_view frame, bool bus) {
  if (bus) {
    if (frame.size() < internal::kBusHeaderSize) return kUnknownKind;
    frame.remove_prefix(internal::kBusHeaderSize);
  }
  if (frame.empty()) return kUnknownKind;
  if (frame[0] == internal::kHeartbeatTag) return kHeartbeatKind;
  if (frame[0] != internal::kReplicationTag) return kUnknownKind;
  auto k = internal::PeekFrameKind(frame.substr(1));
  return k ? static_cast<uint64_t>(*k) : kUnknownKind;
}

// A scheduled event for `node` (stale once it has another incarnation): a frame arriving, its
// timer, a dial attempt, or a dialed connection forming.
struct Event {
  enum class What : uint8_t { kFrame, kTimer, kDial, kConnect };
  What what = What::kTimer;
  NodeId node = 0;
  uint64_t incarnation = 0;
  // kFrame: the sender and how it came; kDial/kConnect: the node dialed (and its incarnation).
  NodeId from = 0;
  uint64_t from_incarnation = 0;
  bool bus = false;
  uint32_t pipe = 0;
  uint64_t kind = 0;
  std::shared_ptr<const std::string> bytes;  // shared by a broadcast's copies
  std::string url;                           // kDial/kConnect: the URL dialed
};

// A bus connection: `dialer` dialed `url` of `listener`. It lives as long as both incarnations.
struct Connection {
  NodeId dialer = 0;
  uint64_t dialer_incarnation = 0;
  NodeId listener = 0;
  uint64_t listener_incarnation = 0;
  std::string url;
  // Per direction (0: dialer -> listener, 1: back): when each queued frame leaves the queue.
  std::deque<TimeMicros> queued[2];
  TimeMicros last_departure[2] = {0, 0};
};

[[noreturn]] void Die(const char* what, NodeId id) {
  std::fprintf(stderr, "convergent::Simulation: %s (node %llu)\n", what,
               static_cast<unsigned long long>(id));
  std::abort();
}

}  // namespace

class Simulation::Impl final : public sim::SimWorld {
 public:
  explicit Impl(SimulationOptions o)
      : options_(std::move(o)),
        rng_(options_.seed),
        net_(options_.latency, options_.jitter, options_.loss, options_.duplication) {
    if (options_.datacenters.empty()) {
      for (int i = 0; i < options_.nodes; ++i) nodes_.emplace_back();
    }
    for (int dc = 0; dc < static_cast<int>(options_.datacenters.size()); ++dc) {
      for (int i = 0; i < options_.datacenters[dc].second; ++i) {
        net_.SetDatacenterOf(nodes_.size(), dc);
        nodes_.emplace_back();
        nodes_.back().datacenter = dc;
      }
    }
    for (NodeId id = 0; id < nodes_.size(); ++id) StartIncarnation(id);
    for (NodeId id = 0; id < nodes_.size(); ++id) Collect(id);
  }

  ~Impl() override {
    for (Node& n : nodes_) n.core.reset();  // their transports call back into this
  }

  // ---- nodes ----
  struct Node {
    bool member = true;
    std::unique_ptr<Env> env;
    std::unique_ptr<internal::NodeCore> core;  // null while crashed or after removal
    uint64_t incarnation = 0;
    TimeMicros skew = 0;  // its wall clock's offset from virtual time
    std::unique_ptr<sim::SimSnapshotStore> store;
    std::optional<TimeMicros> tick_at;  // the one timer event that is not stale
    std::vector<ReplicaEvent> events;
    std::vector<Completion> completions;  // arrived and not yet taken
    std::vector<RequestId> pending;       // requests of this incarnation still running
    std::set<std::string> dials;          // bus URLs this incarnation dials
    TransportStats stats;
    int datacenter = -1;  // index into options_.datacenters (-1: none)
  };

  const std::string& DatacenterName(NodeId id) const {
    static const std::string kNone;
    const int dc = id < nodes_.size() ? nodes_[id].datacenter : -1;
    return dc < 0 ? kNone : options_.datacenters[dc].first;
  }
  int DatacenterIndex(const std::string& name) const {
    for (size_t i = 0; i < options_.datacenters.size(); ++i) {
      if (options_.datacenters[i].first == name) return static_cast<int>(i);
    }
    return -1;
  }

  // Counts a frame's fate in the totals and in its link's.
  void Count(NodeId from, NodeId to, uint64_t NetworkStats::*field, uint64_t n = 1) {
    stats_.*field += n;
    per_link_[std::minmax(from, to)].*field += n;
  }

  // The counters of the links between two sets of nodes.
  NetworkStats Between(const std::set<NodeId>& a, const std::set<NodeId>& b) const {
    NetworkStats out;
    for (const auto& [link, s] : per_link_) {
      if (!((a.count(link.first) && b.count(link.second)) ||
            (b.count(link.first) && a.count(link.second)))) {
        continue;
      }
      for (uint64_t NetworkStats::*f :
           {&NetworkStats::sent, &NetworkStats::delivered, &NetworkStats::lost, &NetworkStats::cut,
            &NetworkStats::to_down, &NetworkStats::duplicated, &NetworkStats::bytes_delivered,
            &NetworkStats::queue_dropped, &NetworkStats::oversized}) {
        out.*f += s.*f;
      }
    }
    return out;
  }

  bool IsLive(NodeId id) const { return id < nodes_.size() && nodes_[id].core != nullptr; }
  bool IsMember(NodeId id) const { return id < nodes_.size() && nodes_[id].member; }
  Node& LiveNode(NodeId id) {
    if (!IsLive(id)) Die("the node is not live", id);
    return nodes_[id];
  }
  Node& MemberNode(NodeId id) {
    if (!IsMember(id)) Die("the node is not a member", id);
    return nodes_[id];
  }
  Replicator& ReplicatorOf(NodeId id) { return LiveNode(id).core->replicator(); }

  std::vector<NodeId> Members(bool live_only) const {
    std::vector<NodeId> out;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (live_only ? IsLive(id) : IsMember(id)) out.push_back(id);
    }
    return out;
  }

  void StartIncarnation(NodeId id) {
    Node& n = nodes_[id];
    if (!n.env) n.env = sim::NewSimEnv(*this, id);
    NodeOptions o = options_.node;
    o.replicator = options_.replicator;
    o.id = id;
    o.name = "node-" + std::to_string(id);
    o.transport.listen = sim::BusUrl(id);
    o.seeds.clear();
    o.remote_seeds.clear();
    o.datacenter = DatacenterName(id);
    for (NodeId m : Members(false)) {
      if (m == id) continue;
      if (nodes_[m].datacenter == n.datacenter) {
        o.seeds.push_back(sim::BusUrl(m));
      } else if (!options_.remote_seed || options_.remote_seed(id, m)) {
        o.remote_seeds[DatacenterName(m)].push_back(sim::BusUrl(m));
      }
    }
    if (!o.snapshot_dir.empty() && !n.store) n.store = std::make_unique<sim::SimSnapshotStore>();
    n.dials.clear();
    n.tick_at.reset();
    auto core = internal::NodeCore::Start(std::move(o), *n.env, [](std::string, bool, uint32_t) {});
    if (!core.ok()) {
      std::fprintf(stderr, "convergent::Simulation: %s\n", core.status().ToString().c_str());
      Die("a node did not start", id);
    }
    n.core = std::move(core).value();
  }

  void Crash(NodeId id) {
    Node& n = MemberNode(id);
    if (!n.core) return;
    n.core->Close();  // drops its connections (CloseTransport)
    n.core.reset();
    n.tick_at.reset();
    n.pending.clear();
  }

  Replicator& Restart(NodeId id) {
    Node& n = MemberNode(id);
    Crash(id);
    ++n.incarnation;  // frames and timers of the old incarnation are now stale
    StartIncarnation(id);
    Collect(id);
    return n.core->replicator();
  }

  NodeId AddNode(int datacenter = -1) {
    const NodeId id = nodes_.size();
    if (datacenter < 0 && !options_.datacenters.empty()) datacenter = 0;
    nodes_.emplace_back();
    nodes_.back().datacenter = datacenter;
    if (datacenter >= 0) net_.SetDatacenterOf(id, datacenter);
    StartIncarnation(id);
    Collect(id);
    return id;
  }

  void RemoveNode(NodeId id) {
    Node& n = MemberNode(id);
    if (n.core) {
      n.core->Leave();  // the goodbye is on its way before the connections close
      Collect(id);
    }
    Crash(id);
    n.member = false;
    ++n.incarnation;
  }

  // ---- SimWorld: what the nodes' Envs and transports call ----
  TimeMicros Now() const override { return now_; }
  TimeMicros Wall(NodeId node) const override { return now_ + nodes_[node].skew; }
  uint64_t Random() override { return rng_(); }
  void Log(NodeId node, LogLevel, std::string_view message) override {
    if (log_.size() < 1000)
      log_.push_back("node " + std::to_string(node) + ": " + std::string(message));
  }

  bool Dial(NodeId node, const std::string& url) override {
    Node& n = nodes_[node];
    if (!n.dials.insert(url).second) return true;  // dialed already
    Schedule(now_, Event{Event::What::kDial, node, n.incarnation, 0, 0, false, 0, 0, nullptr, url});
    return true;
  }

  void HangUp(NodeId node, const std::string& url) override {
    nodes_[node].dials.erase(url);
    const uint64_t inc = nodes_[node].incarnation;
    std::erase_if(conns_, [&](const auto& entry) {
      const Connection& c = entry.second;
      return c.dialer == node && c.dialer_incarnation == inc && c.url == url;
    });
  }

  std::string DialedUrl(NodeId node, uint32_t pipe) const override {
    auto it = conns_.find(pipe);
    if (it == conns_.end()) return "";
    const Connection& c = it->second;
    return c.dialer == node && c.dialer_incarnation == nodes_[node].incarnation ? c.url : "";
  }

  bool Broadcast(NodeId node, std::string_view frame) override {
    const uint64_t inc = nodes_[node].incarnation;
    auto bytes = std::make_shared<const std::string>(frame);
    const uint64_t kind = KindOf(frame, true);
    const size_t capacity = 16 + options_.node.transport.send_buffer;
    const TimeMicros cost = ToMicros(options_.frame_cost);
    for (auto& [pipe, c] : conns_) {
      int dir;
      NodeId to;
      if (c.dialer == node && c.dialer_incarnation == inc) {
        dir = 0;
        to = c.listener;
      } else if (c.listener == node && c.listener_incarnation == inc) {
        dir = 1;
        to = c.dialer;
      } else {
        continue;
      }
      // The connection's queue: frames leave it one per frame_cost; a full one drops (bus0).
      std::deque<TimeMicros>& q = c.queued[dir];
      while (!q.empty() && q.front() <= now_) q.pop_front();
      ++nodes_[node].stats.frames_sent;
      nodes_[node].stats.bytes_sent += frame.size();
      if (q.size() >= capacity) {
        Count(node, to, &NetworkStats::queue_dropped);
        continue;
      }
      const TimeMicros departure = std::max(now_, c.last_departure[dir]) + cost;
      c.last_departure[dir] = departure;
      q.push_back(departure);
      Transmit(node, to, bytes, kind, true, pipe, departure - now_);
    }
    return true;
  }

  bool Send(NodeId node, NodeId peer, std::string_view frame) override {
    ++nodes_[node].stats.frames_sent;
    nodes_[node].stats.bytes_sent += frame.size();
    Transmit(node, peer, std::make_shared<const std::string>(frame), KindOf(frame, false), false, 0,
             0);
    return true;
  }

  TransportStats Stats(NodeId node) const override {
    TransportStats s = nodes_[node].stats;
    const uint64_t inc = nodes_[node].incarnation;
    s.bus_peers = 0;
    for (const auto& [pipe, c] : conns_) {
      if ((c.dialer == node && c.dialer_incarnation == inc) ||
          (c.listener == node && c.listener_incarnation == inc)) {
        ++s.bus_peers;
      }
    }
    return s;
  }

  void CloseTransport(NodeId node) override {
    const uint64_t inc = nodes_[node].incarnation;
    nodes_[node].dials.clear();
    for (auto it = conns_.begin(); it != conns_.end();) {
      const Connection& c = it->second;
      const bool dialer = c.dialer == node && c.dialer_incarnation == inc;
      const bool listener = c.listener == node && c.listener_incarnation == inc;
      if (!dialer && !listener) {
        ++it;
        continue;
      }
      if (listener) RedialLater(c.dialer, c.dialer_incarnation, c.url);  // NNG redials
      it = conns_.erase(it);
    }
  }

  sim::SimSnapshotStore& Store(NodeId node) override {
    Node& n = nodes_[node];
    if (!n.store) n.store = std::make_unique<sim::SimSnapshotStore>();
    return *n.store;
  }

  // ---- the network ----
  void Schedule(TimeMicros at, Event e) { queue_.Push(at, std::move(e)); }

  void RedialLater(NodeId node, uint64_t incarnation, const std::string& url) {
    if (!IsLive(node) || nodes_[node].incarnation != incarnation) return;
    if (nodes_[node].dials.count(url) == 0) return;
    Schedule(now_ + ToMicros(options_.reconnect_interval),
             Event{Event::What::kDial, node, incarnation, 0, 0, false, 0, 0, nullptr, url});
  }

  // A frame copy from `from` to `to`, leaving after `queued` (its connection's queue).
  void Transmit(NodeId from, NodeId to, const std::shared_ptr<const std::string>& bytes,
                uint64_t kind, bool bus, uint32_t pipe, TimeMicros queued) {
    Count(from, to, &NetworkStats::sent);
    if (!IsLive(to)) {
      Count(from, to, &NetworkStats::to_down);
      return;
    }
    if (!net_.Connected(from, to)) {
      Count(from, to, &NetworkStats::cut);
      return;
    }
    const sim::FrameFate fate = net_.Decide(from, to, rng_);
    if (fate.lost) {
      Count(from, to, &NetworkStats::lost);
      return;
    }
    if (fate.copies > 1) Count(from, to, &NetworkStats::duplicated);
    for (int c = 0; c < fate.copies; ++c) {
      Schedule(now_ + queued + fate.delays[c], Event{Event::What::kFrame,
                                                     to,
                                                     nodes_[to].incarnation,
                                                     from,
                                                     nodes_[from].incarnation,
                                                     bus,
                                                     pipe,
                                                     kind,
                                                     bytes,
                                                     {}});
    }
  }

  // A dial attempt: the target must be up and reachable; the connection forms a round trip later.
  void OnDial(const Event& e) {
    Node& n = nodes_[e.node];
    if (n.dials.count(e.url) == 0) return;  // hung up meanwhile
    const std::optional<NodeId> target = sim::NodeOfUrl(e.url);
    if (!target || !IsLive(*target) || !net_.Connected(e.node, *target)) {
      ++stats_.connections_refused;
      RedialLater(e.node, e.incarnation, e.url);
      return;
    }
    const TimeMicros handshake = 2 * net_.MeanDelay(e.node, *target);
    Schedule(now_ + handshake, Event{Event::What::kConnect, e.node, e.incarnation, *target,
                                     nodes_[*target].incarnation, true, 0, 0, nullptr, e.url});
  }

  void OnConnect(const Event& e) {
    Node& n = nodes_[e.node];
    if (n.dials.count(e.url) == 0) return;
    if (!IsLive(e.from) || nodes_[e.from].incarnation != e.from_incarnation ||
        !net_.Connected(e.node, e.from)) {
      ++stats_.connections_refused;
      RedialLater(e.node, e.incarnation, e.url);
      return;
    }
    for (const auto& [pipe, c] : conns_) {  // one connection per dialer and URL, as NNG's dialer
      if (c.dialer == e.node && c.dialer_incarnation == e.incarnation && c.url == e.url) return;
    }
    ++stats_.connections_made;
    Connection c;
    c.dialer = e.node;
    c.dialer_incarnation = e.incarnation;
    c.listener = e.from;
    c.listener_incarnation = e.from_incarnation;
    c.url = e.url;
    conns_.emplace(next_pipe_++, std::move(c));
  }

  // ---- outputs of a node ----
  void Collect(NodeId id, bool after_tick = false) {
    Node& n = LiveNode(id);
    n.core->Flush();
    Replicator& r = n.core->replicator();
    for (ReplicaEvent& e : r.TakeEvents()) n.events.push_back(std::move(e));
    for (Completion& c : r.TakeCompletions()) {
      std::erase(n.pending, c.id);
      if (observer_) observer_(id, c);
      n.completions.push_back(std::move(c));
    }
    // The timer: due at the core's next deadline (at once when already due). A core that stays
    // due after a tick would stall virtual time: its timer moves on by 1 us.
    TimeMicros due = std::max(n.core->NextDeadline(), now_);
    if (after_tick && due <= now_) due = now_ + 1;
    if (n.tick_at == due) return;
    n.tick_at = due;
    Schedule(due, Event{Event::What::kTimer, id, n.incarnation, 0, 0, false, 0, 0, nullptr, {}});
  }

  // ---- the event loop ----
  void Process(TimeMicros time, const Event& e) {
    now_ = time;
    const bool current = IsLive(e.node) && nodes_[e.node].incarnation == e.incarnation;
    switch (e.what) {
      case Event::What::kFrame: {
        if (!current) {
          Count(e.from, e.node, &NetworkStats::to_down);
          return;
        }
        if (!net_.Connected(e.from, e.node)) {
          Count(e.from, e.node, &NetworkStats::cut);
          return;
        }
        Node& n = nodes_[e.node];
        if (e.bytes->size() > options_.node.transport.max_frame_size) {
          Count(e.from, e.node, &NetworkStats::oversized);
          ++n.stats.frames_oversized;
          return;
        }
        ++n.stats.frames_received;
        n.stats.bytes_received += e.bytes->size();
        Trace(e);
        n.core->OnFrame(*e.bytes, e.bus, e.pipe);
        Collect(e.node);
        return;
      }
      case Event::What::kTimer: {
        Node& n = nodes_[e.node];
        if (!current || n.tick_at != time) return;  // a stale timer
        n.tick_at.reset();
        n.core->Tick();
        Collect(e.node, /*after_tick=*/true);
        return;
      }
      case Event::What::kDial:
        if (current) OnDial(e);
        return;
      case Event::What::kConnect:
        if (current) OnConnect(e);
        return;
    }
  }

  // Processes every event due at the earliest pending time; false when nothing is pending.
  bool StepBatch() {
    if (queue_.empty()) return false;
    const TimeMicros t = queue_.next_time();
    while (!queue_.empty() && queue_.next_time() == t) {
      auto [time, event] = queue_.Pop();
      Process(time, event);
    }
    return true;
  }

  void CollectAll() {
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (IsLive(id)) Collect(id);
    }
  }

  void RunFor(double seconds) {
    CollectAll();
    const TimeMicros end = now_ + std::max<TimeMicros>(0, ToMicros(seconds));
    while (!queue_.empty() && queue_.next_time() <= end) StepBatch();
    now_ = end;
  }

  bool Converged() {
    // Live nodes by partition group; every group must agree within itself.
    std::map<int, uint64_t> digest_of_group;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (!IsLive(id)) continue;
      const uint64_t d = nodes_[id].core->replicator().StoreDigest();
      auto [it, inserted] = digest_of_group.emplace(net_.GroupOf(id), d);
      if (!inserted && it->second != d) return false;
    }
    return true;
  }

  // Every live node is ready and knows every live node of its partition group as reachable.
  bool Formed() const {
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (!IsLive(id)) continue;
      if (!nodes_[id].core->ready()) return false;
      const std::vector<MemberView> members = nodes_[id].core->Members();
      for (NodeId other = 0; other < nodes_.size(); ++other) {
        if (other == id || !IsLive(other) || !net_.Connected(id, other)) continue;
        const bool seen = std::any_of(members.begin(), members.end(), [&](const MemberView& m) {
          return m.id == other && m.reachable;
        });
        if (!seen) return false;
      }
    }
    return true;
  }

  // Runs until `done()` (checked once virtual time has moved on by a millisecond: a burst of
  // events at nearly the same time costs one check); the virtual seconds it took, or nullopt.
  template <typename Done>
  std::optional<double> RunUntil(double timeout_seconds, Done done) {
    CollectAll();
    const TimeMicros start = now_;
    const TimeMicros deadline = start + std::max<TimeMicros>(0, ToMicros(timeout_seconds));
    if (done()) return 0.0;
    constexpr TimeMicros kCheckEvery = 1000;
    TimeMicros last_check = now_;
    while (!queue_.empty() && queue_.next_time() <= deadline) {
      StepBatch();
      if (now_ - last_check < kCheckEvery) continue;
      last_check = now_;
      if (done()) return static_cast<double>(now_ - start) / 1e6;
    }
    now_ = deadline;
    if (done()) return static_cast<double>(now_ - start) / 1e6;
    return std::nullopt;
  }

  // ---- local requests ----
  Result<Replicator*> Requester(NodeId id) {
    if (!IsLive(id)) {
      return Status::InvalidArgument("node " + std::to_string(id) + " is not live");
    }
    return &nodes_[id].core->replicator();
  }

  Result<RequestId> Track(NodeId id, Result<RequestId> r) {
    Collect(id);
    if (r.ok() && *r != 0) {
      Node& n = nodes_[id];
      // A request may have completed during Collect already (it then sits in completions).
      const bool done = std::any_of(n.completions.begin(), n.completions.end(),
                                    [&](const Completion& c) { return c.id == *r; });
      if (!done) n.pending.push_back(*r);
    }
    return r;
  }

  Result<Completion> Await(NodeId id, RequestId request) {
    if (request == 0) return Completion{};
    if (!IsLive(id)) {
      return Status::InvalidArgument("node " + std::to_string(id) + " is not live");
    }
    CollectAll();
    const uint64_t incarnation = nodes_[id].incarnation;
    while (true) {
      Node& n = nodes_[id];
      auto done = std::find_if(n.completions.begin(), n.completions.end(),
                               [&](const Completion& c) { return c.id == request; });
      if (done != n.completions.end()) {
        Completion c = std::move(*done);
        n.completions.erase(done);
        return c;
      }
      if (!IsLive(id) || n.incarnation != incarnation) {
        return Status::InvalidArgument("node " + std::to_string(id) + " went down before request " +
                                       std::to_string(request) + " completed");
      }
      if (std::find(n.pending.begin(), n.pending.end(), request) == n.pending.end()) {
        return Status::InvalidArgument("node " + std::to_string(id) + " has no request " +
                                       std::to_string(request));
      }
      if (!StepBatch()) {
        return Status::InvalidArgument("the simulation ran out of events");  // no live nodes
      }
    }
  }

  // ---- trace ----
  void Trace(const Event& d) {
    Count(d.from, d.node, &NetworkStats::delivered);
    Count(d.from, d.node, &NetworkStats::bytes_delivered, d.bytes->size());
    const uint64_t record[6] = {static_cast<uint64_t>(now_),
                                d.from,
                                d.node,
                                d.kind,
                                d.bytes->size(),
                                XXH64(d.bytes->data(), d.bytes->size(), 0)};
    trace_hash_ = XXH64(record, sizeof record, trace_hash_);
    if (record_trace_) {
      trace_.push_back(std::to_string(now_) + " " + std::to_string(d.from) + "->" +
                       std::to_string(d.node) + " " + KindName(d.kind) + " " +
                       std::to_string(d.bytes->size()));
    }
  }

  SimulationOptions options_;
  std::mt19937_64 rng_;
  sim::SimNetwork net_;
  std::vector<Node> nodes_;  // by NodeId
  sim::EventQueue<Event> queue_;
  std::map<uint32_t, Connection> conns_;  // bus connections by pipe id
  uint32_t next_pipe_ = 1;
  TimeMicros now_ = 0;
  uint64_t trace_hash_ = 0;
  bool record_trace_ = false;
  std::vector<std::string> trace_;
  std::vector<std::string> log_;
  NetworkStats stats_;
  std::map<std::pair<NodeId, NodeId>, NetworkStats> per_link_;  // (smaller id, larger id)
  std::function<void(NodeId, const Completion&)> observer_;
};

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Simulation>> Simulation::Create(SimulationOptions options) {
  if (Status s = options.Validate(); !s.ok()) return s;
  return std::make_unique<Simulation>(std::move(options));
}

Simulation::Simulation(SimulationOptions options) {
  if (Status s = options.Validate(); !s.ok()) {
    std::fprintf(stderr, "convergent::Simulation: %s\n", s.ToString().c_str());
    std::abort();
  }
  impl_ = std::make_unique<Impl>(std::move(options));
}
Simulation::~Simulation() = default;

Replicator& Simulation::node(NodeId id) { return impl_->ReplicatorOf(id); }
bool Simulation::IsLive(NodeId id) const { return impl_->IsLive(id); }
bool Simulation::IsMember(NodeId id) const { return impl_->IsMember(id); }
std::vector<NodeId> Simulation::live_nodes() const { return impl_->Members(true); }
std::vector<NodeId> Simulation::members() const { return impl_->Members(false); }
uint64_t Simulation::incarnation(NodeId id) const {
  return id < impl_->nodes_.size() ? impl_->nodes_[id].incarnation : 0;
}
bool Simulation::Ready(NodeId id) const {
  return impl_->IsLive(id) && impl_->nodes_[id].core->ready();
}
std::map<std::string, double> Simulation::NodeMetrics(NodeId id) const {
  if (!impl_->IsLive(id)) return {};
  return impl_->nodes_[id].core->Metrics();
}
bool Simulation::RunUntilFormed(double timeout_seconds) {
  return impl_->RunUntil(timeout_seconds, [&] { return impl_->Formed(); }).has_value();
}

void Simulation::Crash(NodeId id) { impl_->Crash(id); }
Replicator& Simulation::Restart(NodeId id) { return impl_->Restart(id); }
NodeId Simulation::AddNode() { return impl_->AddNode(); }
Result<NodeId> Simulation::AddNode(const std::string& datacenter) {
  const int dc = impl_->DatacenterIndex(datacenter);
  if (dc < 0) return Status::InvalidArgument("no datacenter '" + datacenter + "'");
  return impl_->AddNode(dc);
}

std::vector<std::string> Simulation::Datacenters() const {
  std::vector<std::string> out;
  for (const auto& [name, count] : impl_->options_.datacenters) out.push_back(name);
  return out;
}
std::string Simulation::DatacenterOf(NodeId id) const { return impl_->DatacenterName(id); }
std::vector<NodeId> Simulation::MembersOf(const std::string& datacenter) const {
  const int dc = impl_->DatacenterIndex(datacenter);
  std::vector<NodeId> out;
  if (dc < 0) return out;
  for (NodeId id : impl_->Members(false)) {
    if (impl_->nodes_[id].datacenter == dc) out.push_back(id);
  }
  return out;
}
Status Simulation::SetDatacenterLatency(const std::string& a, const std::string& b, double mean,
                                        double jitter) {
  const int x = impl_->DatacenterIndex(a), y = impl_->DatacenterIndex(b);
  if (x < 0 || y < 0) return Status::InvalidArgument("unknown datacenter");
  if (x == y) return Status::InvalidArgument("a datacenter's latency with itself: use SetLatency");
  return impl_->net_.SetDatacenterLatency(x, y, mean, jitter);
}
Simulation::NetworkStats Simulation::NetworkStatsBetween(const std::string& a,
                                                         const std::string& b) const {
  const int x = impl_->DatacenterIndex(a), y = impl_->DatacenterIndex(b);
  if (x < 0 || y < 0 || x == y) return {};
  std::set<NodeId> in_a, in_b;
  for (NodeId id = 0; id < impl_->nodes_.size(); ++id) {
    if (impl_->nodes_[id].datacenter == x) in_a.insert(id);
    if (impl_->nodes_[id].datacenter == y) in_b.insert(id);
  }
  return impl_->Between(in_a, in_b);
}
Simulation::NetworkStats Simulation::NetworkStatsBetween(const std::vector<NodeId>& a,
                                                         const std::vector<NodeId>& b) const {
  return impl_->Between({a.begin(), a.end()}, {b.begin(), b.end()});
}
void Simulation::RemoveNode(NodeId id) { impl_->RemoveNode(id); }

Status Simulation::RetireWriter(NodeId id, ReplicaId writer) {
  if (!impl_->IsLive(id)) {
    return Status::InvalidArgument("node " + std::to_string(id) + " is not live");
  }
  impl_->LiveNode(id).core->RetireWriter(writer);
  return Status::Ok();
}

Status Simulation::SkewClock(NodeId id, double seconds) {
  if (!impl_->IsMember(id)) {
    return Status::InvalidArgument("node " + std::to_string(id) + " is not a member");
  }
  if (!(std::abs(seconds) < 1e9)) return Status::InvalidArgument("seconds must be finite");
  impl_->nodes_[id].skew += ToMicros(seconds);
  return Status::Ok();
}
TimeMicros Simulation::WallMicros(NodeId id) const {
  return id < impl_->nodes_.size() ? impl_->Wall(id) : impl_->now_;
}
sim::SimSnapshotStore* Simulation::SnapshotStoreOf(NodeId id) {
  if (id >= impl_->nodes_.size() || impl_->options_.node.snapshot_dir.empty()) return nullptr;
  return &impl_->Store(id);
}

namespace {
Result<sim::SimSnapshotStore*> StoreOrError(Simulation& s, NodeId id) {
  sim::SimSnapshotStore* store = s.SnapshotStoreOf(id);
  if (store == nullptr) {
    return Status::InvalidArgument("node " + std::to_string(id) +
                                   ": unknown, or the simulation takes no snapshots");
  }
  return store;
}
}  // namespace

Status Simulation::FailSnapshotWrites(NodeId id, bool fail) {
  auto store = StoreOrError(*this, id);
  if (!store.ok()) return store.status();
  (*store)->set_fail_writes(fail);
  return Status::Ok();
}

Result<bool> Simulation::CorruptSnapshot(NodeId id, const std::optional<std::string>& key) {
  auto store = StoreOrError(*this, id);
  if (!store.ok()) return store.status();
  if (!key) {
    (*store)->set_unreadable(true);
    return true;
  }
  return (*store)->Corrupt(*key);
}

Status Simulation::LoseLastSnapshotWrite(NodeId id) {
  auto store = StoreOrError(*this, id);
  if (!store.ok()) return store.status();
  (*store)->LoseLastWrite();
  return Status::Ok();
}

Result<RequestId> Simulation::Request(NodeId id, const RequestFn& request) {
  auto r = impl_->Requester(id);
  if (!r.ok()) return r.status();
  return impl_->Track(id, request(**r, impl_->now_));
}
Result<RequestId> Simulation::Update(NodeId id, std::string_view key, CrdtType type,
                                     const Replicator::Mutation& mutate, Consistency level,
                                     std::optional<double> timeout) {
  return Request(id, [&](Replicator& r, TimeMicros now) {
    return r.Update(key, type, mutate, level, now, timeout);
  });
}
Result<RequestId> Simulation::Delete(NodeId id, std::string_view key, CrdtType type,
                                     Consistency level, std::optional<double> timeout) {
  return Request(
      id, [&](Replicator& r, TimeMicros now) { return r.Delete(key, type, level, now, timeout); });
}
Result<RequestId> Simulation::Read(NodeId id, std::string_view key, CrdtType type,
                                   Consistency level, std::optional<double> timeout) {
  return Request(
      id, [&](Replicator& r, TimeMicros now) { return r.Read(key, type, level, now, timeout); });
}
Result<Completion> Simulation::Await(NodeId id, RequestId request) {
  return impl_->Await(id, request);
}
std::vector<Completion> Simulation::TakeCompletions(NodeId id) {
  if (id >= impl_->nodes_.size()) return {};
  if (impl_->IsLive(id)) impl_->Collect(id);
  return std::exchange(impl_->nodes_[id].completions, {});
}
std::vector<ReplicaEvent> Simulation::TakeEvents(NodeId id) {
  if (id >= impl_->nodes_.size()) return {};
  if (impl_->IsLive(id)) impl_->Collect(id);
  return std::exchange(impl_->nodes_[id].events, {});
}
void Simulation::Collect(NodeId id) {
  if (impl_->IsLive(id)) impl_->Collect(id);
}

TimeMicros Simulation::now() const { return impl_->now_; }
double Simulation::now_seconds() const { return static_cast<double>(impl_->now_) / 1e6; }
void Simulation::RunFor(double seconds) { impl_->RunFor(seconds); }
std::optional<double> Simulation::RunUntilConverged(double timeout_seconds) {
  return impl_->RunUntil(timeout_seconds, [&] { return impl_->Converged(); });
}
bool Simulation::Converged() { return impl_->Converged(); }

Status Simulation::Partition(const std::vector<std::vector<NodeId>>& groups) {
  return impl_->net_.Partition(groups, [&](NodeId n) { return impl_->IsMember(n); });
}
void Simulation::Heal() { impl_->net_.Heal(); }
Status Simulation::SetLoss(double p) { return impl_->net_.SetLoss(p); }
Status Simulation::SetLatency(double mean, double jitter) {
  return impl_->net_.SetLatency(mean, jitter);
}
Status Simulation::SetDuplication(double p) { return impl_->net_.SetDuplication(p); }
Status Simulation::SetLinkLoss(NodeId a, NodeId b, double p, bool one_way) {
  return impl_->net_.SetLinkLoss(a, b, p, one_way);
}
Status Simulation::SetLinkLatency(NodeId a, NodeId b, double mean, double jitter) {
  return impl_->net_.SetLinkLatency(a, b, mean, jitter);
}
void Simulation::ResetLinks() { impl_->net_.ResetLinks(); }

void Simulation::ObserveCompletions(std::function<void(NodeId, const Completion&)> observer) {
  impl_->observer_ = std::move(observer);
}
uint64_t Simulation::TraceHash() const { return impl_->trace_hash_; }
void Simulation::RecordTrace(bool on) { impl_->record_trace_ = on; }
const std::vector<std::string>& Simulation::trace() const { return impl_->trace_; }
const Simulation::NetworkStats& Simulation::network_stats() const { return impl_->stats_; }

}  // namespace convergent
