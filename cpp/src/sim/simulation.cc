// Simulation (convergent/simulation.h): nodes, the event loop, local requests and observation.
// The links are decided by SimNetwork (sim/network.h), the agenda is an EventQueue.
#include "convergent/simulation.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "sim/event_queue.h"
#include "sim/network.h"

namespace convergent {

using sim::ToMicros;

Status SimulationOptions::Validate() const {
  if (nodes < 1 || nodes > 10000) return Status::InvalidArgument("nodes must be in [1, 10000]");
  if (Status s = sim::SimNetwork::CheckLatency(latency, jitter); !s.ok()) return s;
  if (Status s = sim::SimNetwork::CheckProbability(loss, "loss"); !s.ok()) return s;
  if (Status s = sim::SimNetwork::CheckProbability(duplication, "duplication"); !s.ok()) return s;
  return replicator.Validate();
}

namespace {

// A scheduled event: a frame arriving at `node` (bytes set), or the node's timer. Either is
// stale once the node has another incarnation; a timer also when the node re-set it since.
struct Event {
  NodeId node = 0;
  uint64_t incarnation = 0;
  NodeId from = 0;
  FrameKind kind = FrameKind::kDeltaBatch;
  std::shared_ptr<const std::string> bytes;  // null for a timer; shared by a broadcast's copies
};

[[noreturn]] void Die(const char* what, NodeId id) {
  std::fprintf(stderr, "convergent::Simulation: %s (node %llu)\n", what,
               static_cast<unsigned long long>(id));
  std::abort();
}

}  // namespace

class Simulation::Impl {
 public:
  explicit Impl(SimulationOptions o)
      : options_(std::move(o)),
        rng_(options_.seed),
        net_(options_.latency, options_.jitter, options_.loss, options_.duplication) {
    for (int i = 0; i < options_.nodes; ++i) nodes_.emplace_back();
    for (NodeId id = 0; id < nodes_.size(); ++id) StartIncarnation(id);
    UpdatePeers();
    for (NodeId id = 0; id < nodes_.size(); ++id) Collect(id);
  }

  // ---- nodes ----
  struct Node {
    bool member = true;
    std::unique_ptr<Replicator> replicator;  // null while crashed or after removal
    uint64_t incarnation = 0;
    std::optional<TimeMicros> tick_at;  // the one timer event that is not stale
    std::vector<ReplicaEvent> events;
    std::vector<Completion> completions;  // arrived and not yet taken
    std::vector<RequestId> pending;       // requests of this incarnation still running
  };

  bool IsLive(NodeId id) const { return id < nodes_.size() && nodes_[id].replicator != nullptr; }
  bool IsMember(NodeId id) const { return id < nodes_.size() && nodes_[id].member; }
  Node& LiveNode(NodeId id) {
    if (!IsLive(id)) Die("the node is not live", id);
    return nodes_[id];
  }
  Node& MemberNode(NodeId id) {
    if (!IsMember(id)) Die("the node is not a member", id);
    return nodes_[id];
  }

  std::vector<NodeId> Members(bool live_only) const {
    std::vector<NodeId> out;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (live_only ? IsLive(id) : IsMember(id)) out.push_back(id);
    }
    return out;
  }

  void StartIncarnation(NodeId id) {
    Node& n = nodes_[id];
    ReplicaId replica{rng_()};
    while (replica.value == 0) replica.value = rng_();
    const uint64_t seed = rng_();
    n.replicator = std::make_unique<Replicator>(id, replica, options_.replicator, seed);
    n.tick_at.reset();
  }

  // Every live node replicates with every other member (crashed members included).
  void UpdatePeers() {
    const std::vector<NodeId> members = Members(false);
    for (NodeId id : members) {
      if (IsLive(id)) nodes_[id].replicator->SetPeers(members);  // drops self
    }
  }

  void Crash(NodeId id) {
    Node& n = MemberNode(id);
    if (!n.replicator) return;
    n.replicator.reset();
    n.tick_at.reset();
    n.pending.clear();
  }

  Replicator& Restart(NodeId id) {
    Node& n = MemberNode(id);
    Crash(id);
    ++n.incarnation;  // frames and timers of the old incarnation are now stale
    StartIncarnation(id);
    n.replicator->SetPeers(Members(false));
    Collect(id);
    return *n.replicator;
  }

  NodeId AddNode() {
    const NodeId id = nodes_.size();
    nodes_.emplace_back();
    StartIncarnation(id);
    UpdatePeers();
    Collect(id);
    return id;
  }

  void RemoveNode(NodeId id) {
    Node& n = MemberNode(id);
    Crash(id);
    n.member = false;
    ++n.incarnation;
    UpdatePeers();
  }

  // ---- outputs of a replicator ----
  void Collect(NodeId id, bool after_tick = false) {
    Node& n = LiveNode(id);
    Replicator& r = *n.replicator;
    for (OutgoingFrame& f : r.TakeOutgoing()) {
      auto bytes = std::make_shared<const std::string>(std::move(f.bytes));
      if (f.to) {
        Send(id, *f.to, f.kind, bytes);
      } else {
        for (NodeId peer : r.peers()) Send(id, peer, f.kind, bytes);
      }
    }
    for (ReplicaEvent& e : r.TakeEvents()) n.events.push_back(std::move(e));
    for (Completion& c : r.TakeCompletions()) {
      std::erase(n.pending, c.id);
      n.completions.push_back(std::move(c));
    }
    // The timer: due at the replicator's next deadline (at once when already due). A replicator
    // that stays due after a tick would stall virtual time: its timer moves on by 1 us.
    TimeMicros due = std::max(r.NextDeadline(), now_);
    if (after_tick && due <= now_) due = now_ + 1;
    if (n.tick_at == due) return;
    n.tick_at = due;
    queue_.Push(due, Event{id, n.incarnation, id, FrameKind::kDeltaBatch, nullptr});
  }

  void Send(NodeId from, NodeId to, FrameKind kind,
            const std::shared_ptr<const std::string>& bytes) {
    ++stats_.sent;
    if (!IsLive(to)) {
      ++stats_.to_down;
      return;
    }
    if (!net_.Connected(from, to)) {
      ++stats_.cut;
      return;
    }
    const sim::FrameFate fate = net_.Decide(from, to, rng_);
    if (fate.lost) {
      ++stats_.lost;
      return;
    }
    if (fate.copies > 1) ++stats_.duplicated;
    for (int c = 0; c < fate.copies; ++c) {
      queue_.Push(now_ + fate.delays[c], Event{to, nodes_[to].incarnation, from, kind, bytes});
    }
  }

  // ---- the event loop ----
  void Process(TimeMicros time, const Event& e) {
    now_ = time;
    const bool current = IsLive(e.node) && nodes_[e.node].incarnation == e.incarnation;
    if (e.bytes) {  // a frame
      if (!current) {
        ++stats_.to_down;
        return;
      }
      if (!net_.Connected(e.from, e.node)) {
        ++stats_.cut;
        return;
      }
      Trace(e);
      nodes_[e.node].replicator->Receive(*e.bytes, now_);
      Collect(e.node);
      return;
    }
    Node& n = nodes_[e.node];
    if (!current || n.tick_at != time) return;  // a stale timer
    n.tick_at.reset();
    n.replicator->Tick(now_);
    Collect(e.node, /*after_tick=*/true);
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
      const uint64_t d = nodes_[id].replicator->StoreDigest();
      auto [it, inserted] = digest_of_group.emplace(net_.GroupOf(id), d);
      if (!inserted && it->second != d) return false;
    }
    return true;
  }

  std::optional<double> RunUntilConverged(double timeout_seconds) {
    CollectAll();
    const TimeMicros start = now_;
    const TimeMicros deadline = start + std::max<TimeMicros>(0, ToMicros(timeout_seconds));
    if (Converged()) return 0.0;
    // Digests are compared only once virtual time has moved on by a millisecond: a burst of
    // events at nearly the same time costs one comparison.
    constexpr TimeMicros kCheckEvery = 1000;
    TimeMicros last_check = now_;
    while (!queue_.empty() && queue_.next_time() <= deadline) {
      StepBatch();
      if (now_ - last_check < kCheckEvery) continue;
      last_check = now_;
      if (Converged()) return static_cast<double>(now_ - start) / 1e6;
    }
    now_ = deadline;
    if (Converged()) return static_cast<double>(now_ - start) / 1e6;
    return std::nullopt;
  }

  // ---- local requests ----
  Result<Replicator*> Requester(NodeId id) {
    if (!IsLive(id)) {
      return Status::InvalidArgument("node " + std::to_string(id) + " is not live");
    }
    return nodes_[id].replicator.get();
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
    ++stats_.delivered;
    stats_.bytes_delivered += d.bytes->size();
    const uint64_t record[6] = {
        static_cast<uint64_t>(now_),   d.from,          d.node,
        static_cast<uint64_t>(d.kind), d.bytes->size(), XXH64(d.bytes->data(), d.bytes->size(), 0)};
    trace_hash_ = XXH64(record, sizeof record, trace_hash_);
    if (record_trace_) {
      trace_.push_back(std::to_string(now_) + " " + std::to_string(d.from) + "->" +
                       std::to_string(d.node) + " " + FrameKindName(d.kind) + " " +
                       std::to_string(d.bytes->size()));
    }
  }

  SimulationOptions options_;
  std::mt19937_64 rng_;
  sim::SimNetwork net_;
  std::vector<Node> nodes_;  // by NodeId
  sim::EventQueue<Event> queue_;
  TimeMicros now_ = 0;
  uint64_t trace_hash_ = 0;
  bool record_trace_ = false;
  std::vector<std::string> trace_;
  NetworkStats stats_;
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

Replicator& Simulation::node(NodeId id) { return *impl_->LiveNode(id).replicator; }
bool Simulation::IsLive(NodeId id) const { return impl_->IsLive(id); }
bool Simulation::IsMember(NodeId id) const { return impl_->IsMember(id); }
std::vector<NodeId> Simulation::live_nodes() const { return impl_->Members(true); }
std::vector<NodeId> Simulation::members() const { return impl_->Members(false); }
uint64_t Simulation::incarnation(NodeId id) const {
  return id < impl_->nodes_.size() ? impl_->nodes_[id].incarnation : 0;
}

void Simulation::Crash(NodeId id) { impl_->Crash(id); }
Replicator& Simulation::Restart(NodeId id) { return impl_->Restart(id); }
NodeId Simulation::AddNode() { return impl_->AddNode(); }
void Simulation::RemoveNode(NodeId id) { impl_->RemoveNode(id); }

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
  return impl_->RunUntilConverged(timeout_seconds);
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
Status Simulation::SetLinkLoss(NodeId a, NodeId b, double p) {
  return impl_->net_.SetLinkLoss(a, b, p);
}
Status Simulation::SetLinkLatency(NodeId a, NodeId b, double mean, double jitter) {
  return impl_->net_.SetLinkLatency(a, b, mean, jitter);
}
void Simulation::ResetLinks() { impl_->net_.ResetLinks(); }

uint64_t Simulation::TraceHash() const { return impl_->trace_hash_; }
void Simulation::RecordTrace(bool on) { impl_->record_trace_ = on; }
const std::vector<std::string>& Simulation::trace() const { return impl_->trace_; }
const Simulation::NetworkStats& Simulation::network_stats() const { return impl_->stats_; }

}  // namespace convergent
