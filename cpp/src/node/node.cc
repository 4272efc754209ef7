#include "convergent/node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "codec/node_codec.h"
#include "convergent/snapshot_store.h"
#include "node/bus_links.h"
#include "node/flush_pacer.h"
#include "node/loss_detector.h"
#include "node/membership.h"
#include "node/metrics_http.h"
#include "node/seed_resolver.h"

namespace convergent {

using internal::BusHeader;
using internal::HeartbeatMsg;
using internal::kHeartbeatTag;
using internal::kReplicationTag;
using internal::MemberRecord;
using internal::Membership;

namespace {

TimeMicros WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TimeMicros Micros(double seconds) { return static_cast<TimeMicros>(seconds * 1e6); }

uint64_t FreshRandom() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
         static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

Status NodeOptions::Validate() const {
  if (transport.listen.empty()) return Status::InvalidArgument("listen: a URL is required");
  if (transport.send_buffer > 8192) return Status::InvalidArgument("send_buffer must be <= 8192");
  if (!(seed_resolve_interval > 0 && seed_resolve_interval < 86400)) {
    return Status::InvalidArgument("seed_resolve_interval must be > 0 seconds");
  }
  if (!(heartbeat_interval > 0 && heartbeat_interval < 3600)) {
    return Status::InvalidArgument("heartbeat_interval must be > 0 seconds");
  }
  if (!(failure_timeout > heartbeat_interval && failure_timeout < 86400)) {
    return Status::InvalidArgument("failure_timeout must be greater than heartbeat_interval");
  }
  if (!(down_after >= 0 && down_after < 1e9)) {
    return Status::InvalidArgument("down_after must be >= 0 seconds (0: never)");
  }
  if (!snapshot_dir.empty() && !(snapshot_interval > 0 && snapshot_interval < 86400)) {
    return Status::InvalidArgument("snapshot_interval must be > 0 seconds");
  }
  if (!(max_delta_flush_interval > 0 && max_delta_flush_interval < 86400)) {
    return Status::InvalidArgument("max_delta_flush_interval must be > 0 seconds");
  }
  if (transport.max_frame_size < replicator.max_frame_size) {
    return Status::InvalidArgument(
        "the transport's max_frame_size must be at least the replicator's max_frame_size");
  }
  return replicator.Validate();
}

class Node::Impl {
 public:
  explicit Impl(NodeOptions options) : options_(std::move(options)) {}

  Status Start() {
    if (Status s = options_.Validate(); !s.ok()) return s;
    std::vector<SnapshotStore::Record> restored;
    if (!options_.snapshot_dir.empty()) {
      bool was_corrupt = false;
      auto store = OpenLevelDbSnapshotStore(options_.snapshot_dir, &was_corrupt);
      if (!store.ok()) return store.status();
      store_ = std::move(store).value();
      auto records = store_->ReadAll();
      if (records.ok()) {
        restored = std::move(records).value();
      } else {
        was_corrupt = true;
        ReportCorrupt(records.status().message());
      }
      if (was_corrupt) {
        snapshot_corrupt_ = true;
        if (Status s = store_->Clear(); !s.ok()) return s;
      }
    }
    auto transport =
        MakeNngTransport(options_.transport, [this](std::string frame, bool bus, uint32_t pipe) {
          {
            std::lock_guard lock(inbox_mu_);
            inbox_.push_back(Incoming{std::move(frame), bus, pipe});
          }
          inbox_cv_.notify_one();
        });
    if (!transport.ok()) return transport.status();
    transport_ = std::move(transport).value();
    if (options_.wrap_transport) transport_ = options_.wrap_transport(std::move(transport_));
    name_ = options_.name.empty() ? transport_->bus_url() : options_.name;
    MemberRecord self;
    self.id = ReplicaId::FromName(name_).value;
    self.name = name_;
    self.incarnation = static_cast<uint64_t>(WallMicros());
    self.bus_url = transport_->bus_url();
    self.p2p_url = transport_->p2p_url();
    self.role = options_.replicator.role.value_or("");
    started_at_ = WallMicros();
    membership_ = std::make_unique<Membership>(self, Micros(options_.failure_timeout),
                                               Micros(options_.down_after));
    links_ = std::make_unique<internal::BusLinks>(self.id, Micros(options_.failure_timeout));
    pacer_ = std::make_unique<internal::FlushPacer>(
        Micros(options_.replicator.delta_flush_interval), Micros(options_.max_delta_flush_interval),
        Micros(options_.heartbeat_interval));
    replica_ = ReplicaId{FreshRandom()};
    replicator_ =
        std::make_unique<Replicator>(self.id, replica_, options_.replicator, FreshRandom());
    if (store_ != nullptr) {
      if (Status s = replicator_->Restore(restored); !s.ok()) {
        // All or nothing: the replicator holds nothing of the bad snapshot; start empty.
        ReportCorrupt(s.message());
        snapshot_corrupt_ = true;
        if (Status c = store_->Clear(); !c.ok()) return c;
      } else {
        restored_keys_ = restored.size();
      }
      replicator_->TrackChanges();
      next_snapshot_ = WallMicros() + Micros(options_.snapshot_interval);
    }
    if (std::any_of(options_.seeds.begin(), options_.seeds.end(),
                    internal::SeedResolver::HasName)) {
      resolver_ =
          std::make_unique<internal::SeedResolver>(options_.seeds, options_.seed_resolve_interval);
    }
    running_ = true;
    loop_ = std::thread([this] { Loop(); });
    if (!options_.metrics_listen.empty()) {
      auto server = internal::MetricsServer::Start(
          options_.metrics_listen, [this] { return internal::PrometheusText(Metrics(), name_); });
      if (!server.ok()) {
        Stop(false);
        return server.status();
      }
      metrics_server_ = std::move(server).value();
      metrics_url_ = metrics_server_->url();
    }
    return Status::Ok();
  }

  ~Impl() { Stop(true); }

  void Stop(bool graceful) {
    metrics_server_.reset();  // no more renders while the node goes down
    {
      std::lock_guard lock(mu_);
      if (!running_) return;
      if (graceful) {
        // Flush what is buffered and say goodbye, so peers drop us at once.
        const TimeMicros now = WallMicros();
        replicator_->Tick(now + Micros(options_.replicator.delta_flush_interval) + 1);
        SendOutputs();
        Snapshot();
        BroadcastHeartbeat(membership_->MakeHeartbeat(true), now);
      }
      running_ = false;
    }
    {
      std::lock_guard lock(inbox_mu_);
      stop_hint_ = true;
    }
    inbox_cv_.notify_all();
    done_cv_.notify_all();
    events_cv_.notify_all();
    if (loop_.joinable()) loop_.join();
    if (graceful) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let sends go
    transport_->Close();
    std::lock_guard lock(mu_);
    store_.reset();  // releases the LevelDB lock: the node may start again in this process
  }

  bool running() const { return running_.load(std::memory_order_acquire); }
  bool has_events() const { return has_events_.load(std::memory_order_acquire); }

  Status Run(const std::function<void(Replicator&, TimeMicros)>& op) {
    {
      std::lock_guard lock(mu_);
      if (!running_) return Status::InvalidArgument("the node " + name_ + " is stopped");
      op(*replicator_, WallMicros());
      CollectLocked();
      if (!LoopMustWakeLocked()) return Status::Ok();
    }
    Wake();
    return Status::Ok();
  }

  Result<RequestId> Request(const RequestFn& op) {
    Result<RequestId> r = RequestId{0};
    {
      std::lock_guard lock(mu_);
      if (!running_) return Status::InvalidArgument("the node " + name_ + " is stopped");
      r = op(*replicator_, WallMicros());
      if (r.ok() && *r != 0) pending_.insert(*r);
      CollectLocked();
      if (!LoopMustWakeLocked()) return r;
    }
    Wake();
    return r;
  }

  Result<Completion> Await(RequestId request) {
    if (request == 0) return Completion{};
    std::unique_lock lock(mu_);
    if (pending_.count(request) == 0 && done_.count(request) == 0) {
      return Status::InvalidArgument("no such request");
    }
    done_cv_.wait(lock, [&] { return done_.count(request) != 0 || !running_; });
    auto it = done_.find(request);
    if (it == done_.end())
      return Status::InvalidArgument("the node stopped before the request completed");
    Completion c = std::move(it->second);
    done_.erase(it);
    return c;
  }

  std::vector<ReplicaEvent> WaitEvents(double timeout_seconds) {
    // A poll (timeout 0, after every call from Python) with nothing queued takes no lock.
    if (timeout_seconds <= 0 && !has_events_.load(std::memory_order_acquire)) return {};
    std::unique_lock lock(mu_);
    if (timeout_seconds > 0) {
      events_cv_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                          [&] { return !events_.empty() || !running_; });
    }
    has_events_.store(false, std::memory_order_release);
    std::vector<ReplicaEvent> out(std::make_move_iterator(events_.begin()),
                                  std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
  }

  std::vector<MemberView> Members() const {
    std::lock_guard lock(mu_);
    std::vector<MemberView> out;
    const MemberRecord& self = membership_->self();
    out.push_back(MemberView{self.id, self.name, self.bus_url, self.role, true, true});
    for (const auto& [id, m] : membership_->members()) {
      out.push_back(MemberView{id, m.info.name, m.info.bus_url, m.info.role, m.reachable, false});
    }
    return out;
  }

  NodeId Leader() const {
    std::lock_guard lock(mu_);
    return membership_->Leader();
  }

  std::map<std::string, double> Metrics() const {
    std::lock_guard lock(mu_);
    std::map<std::string, double> m = replicator_->NamedMetrics();
    const TransportStats t = transport_->stats();
    m["convergent.transport.frames.sent"] = static_cast<double>(t.frames_sent);
    m["convergent.transport.frames.received"] = static_cast<double>(t.frames_received);
    m["convergent.transport.bytes.sent"] = static_cast<double>(t.bytes_sent);
    m["convergent.transport.bytes.received"] = static_cast<double>(t.bytes_received);
    m["convergent.transport.send.dropped"] = static_cast<double>(t.send_dropped);
    m["convergent.transport.frames.oversized"] = static_cast<double>(t.frames_oversized);
    m["convergent.transport.bus.connections"] = static_cast<double>(t.bus_peers);
    m["convergent.transport.bus.duplicates.closed"] = static_cast<double>(duplicate_links_closed_);
    m["convergent.node.frames.malformed"] = static_cast<double>(malformed_);
    m["convergent.transport.bus.frames.lost"] = static_cast<double>(loss_.total_lost());
    m["convergent.transport.bus.frames.duplicate"] = static_cast<double>(loss_.total_duplicates());
    m["convergent.backpressure.congestion.count"] =
        static_cast<double>(pacer_->congestion_signals());
    m["convergent.backpressure.flush.interval.seconds"] = replicator_->delta_flush_interval();
    if (store_ != nullptr) {
      m["convergent.snapshot.count"] = static_cast<double>(snapshots_);
      m["convergent.snapshot.records.written"] = static_cast<double>(snapshot_records_);
      m["convergent.snapshot.failures"] = static_cast<double>(snapshot_failures_);
      m["convergent.snapshot.corrupt"] = snapshot_corrupt_ ? 1 : 0;
      m["convergent.snapshot.restored.keys"] = static_cast<double>(restored_keys_);
    }
    size_t reachable = 0;
    for (const auto& [id, s] : membership_->members()) reachable += s.reachable ? 1 : 0;
    m["convergent.membership.members"] = static_cast<double>(membership_->members().size() + 1);
    m["convergent.membership.reachable"] = static_cast<double>(reachable + 1);
    m["convergent.membership.downed"] = static_cast<double>(membership_->downed_count());
    return m;
  }

  uint64_t StoreDigest() {
    std::lock_guard lock(mu_);
    return replicator_->StoreDigest();
  }

  NodeId id() const { return membership_->self().id; }
  ReplicaId replica_id() const { return replica_; }
  const std::string& name() const { return name_; }
  const std::string& bus_url() const { return membership_->self().bus_url; }
  const std::string& p2p_url() const { return membership_->self().p2p_url; }
  const std::string& metrics_url() const { return metrics_url_; }

 private:
  struct Incoming {
    std::string bytes;
    bool from_bus;
    uint32_t pipe;  // the bus connection it came over
  };

  void Wake() {
    {
      std::lock_guard lock(inbox_mu_);
      woken_ = true;
    }
    inbox_cv_.notify_one();
  }

  void Loop() {
    while (true) {
      std::deque<Incoming> batch;
      TimeMicros due;
      {
        std::lock_guard lock(mu_);
        if (!running_) return;
        due = std::min(replicator_->NextDeadline(), next_heartbeat_);
        if (store_ != nullptr) due = std::min(due, next_snapshot_);
        loop_due_ = due;
      }
      {
        std::unique_lock lock(inbox_mu_);
        const TimeMicros now = WallMicros();
        const auto wait = std::chrono::microseconds(due > now ? due - now : 0);
        inbox_cv_.wait_for(lock, wait,
                           [&] { return !inbox_.empty() || woken_ || StopRequested(); });
        batch.swap(inbox_);
        woken_ = false;
      }
      std::lock_guard lock(mu_);
      if (!running_) return;
      const TimeMicros now = WallMicros();
      for (Incoming& in : batch) Dispatch(in, now);
      if (now >= next_heartbeat_) Heartbeat(now);
      if (membership_->Check(now)) UpdatePeers();
      replicator_->Tick(now);
      CollectLocked();
      if (store_ != nullptr && now >= next_snapshot_) {
        next_snapshot_ = now + Micros(options_.snapshot_interval);
        Snapshot();
      }
    }
  }

  // With mu_ held: writes the changes since the last snapshot in one batch.
  void Snapshot() {
    if (store_ == nullptr) return;
    std::vector<SnapshotStore::Record> changes = replicator_->TakeChanges();
    if (changes.empty()) return;
    if (Status s = store_->Write(changes); !s.ok()) {
      replicator_->ReturnChanges(changes);  // written by the next snapshot instead
      ++snapshot_failures_;
      std::fprintf(stderr, "convergent node %s: snapshot failed: %s\n", name_.c_str(),
                   s.ToString().c_str());
      return;
    }
    ++snapshots_;
    snapshot_records_ += changes.size();
  }

  void ReportCorrupt(const std::string& why) {
    std::fprintf(stderr,
                 "convergent node: the snapshot in %s is unusable (%s); starting empty, the "
                 "node rebuilds from its peers\n",
                 options_.snapshot_dir.c_str(), why.c_str());
  }

  bool StopRequested() const { return stop_hint_; }  // with inbox_mu_ held

  void Dispatch(Incoming& in, TimeMicros now) {
    std::string_view frame = in.bytes;
    if (in.from_bus) {  // numbered: find what was lost on the way, drop duplicates
      Result<BusHeader> h = internal::DecodeBusHeader(frame, &frame);
      if (!h.ok()) {
        ++malformed_;
        return;
      }
      if (h->sender == membership_->self().id) return;
      uint64_t lost = 0;
      const auto verdict = loss_.OnFrame(h->sender, h->incarnation, h->seq, &lost);
      if (verdict == internal::LossDetector::Verdict::kDuplicate) return;
      if (lost > 0) replicator_->RepairFrom(h->sender, now);
    }
    if (frame.empty()) {
      ++malformed_;
      return;
    }
    const std::string_view body = frame.substr(1);
    if (frame[0] == kReplicationTag) {
      replicator_->Receive(body, now);  // it drops and counts what does not decode
    } else if (frame[0] == kHeartbeatTag) {
      Result<HeartbeatMsg> h = internal::DecodeHeartbeat(body);
      if (!h.ok()) {
        ++malformed_;
        return;
      }
      const internal::MemberRecord& self = membership_->self();
      for (const internal::LossReport& l : h->losses) {
        if (l.sender == self.id && l.incarnation == self.incarnation &&
            pacer_->OnLossReport(h->sender.id, h->sender.incarnation, l.frames_lost, bus_seq_,
                                 now)) {
          replicator_->SetDeltaFlushInterval(static_cast<double>(pacer_->interval()) / 1e6);
        }
      }
      if (in.from_bus && h->sender.id != self.id && !h->sender.leaving) {
        KeepOneBusLink(h->sender.id, in.pipe, now);
      }
      if (membership_->OnHeartbeat(*h, now, in.from_bus)) UpdatePeers();
    } else {
      ++malformed_;
    }
  }

  void Heartbeat(TimeMicros now) {
    const TimeMicros interval = Micros(options_.heartbeat_interval);
    next_heartbeat_ = now + interval;
    BroadcastHeartbeat(membership_->MakeHeartbeat(), now);
    if (pacer_->Advance(now)) {
      replicator_->SetDeltaFlushInterval(static_cast<double>(pacer_->interval()) / 1e6);
    }
    // Connect the bus: to members (and seeds) not heard from. The node with the smaller URL dials;
    // the other waits two heartbeats for it, then dials too (a node only its seeds know).
    const std::string& own = membership_->self().bus_url;
    const bool patient = now - started_at_ < 2 * interval;
    auto maybe_dial = [&](const std::string& url) {
      if (url.empty() || url == own) return;
      if (own < url || !patient) transport_->DialBus(url);
    };
    std::set<std::string> heard;
    for (const auto& [id, m] : membership_->members()) {
      if (m.reachable) {
        heard.insert(m.info.bus_url);
      } else {
        maybe_dial(m.info.bus_url);
      }
    }
    // A seed whose connection reached a member that is heard: not dialed again (its dialer may
    // have been hung up as redundant).
    for (const auto& [url, id] : dialed_member_) {
      if (membership_->IsReachable(id)) heard.insert(url);
    }
    for (const std::string& seed : resolver_ ? resolver_->Current() : options_.seeds) {
      if (heard.count(seed) == 0) maybe_dial(seed);
    }
  }

  // A heartbeat of `member` came over bus connection `pipe`: hangs up a redundant connection to
  // it that this node dialed (see BusLinks), and notes which member a dialed URL reaches.
  void KeepOneBusLink(NodeId member, uint32_t pipe, TimeMicros now) {
    const std::string dialed = transport_->DialedUrl(pipe);
    if (!dialed.empty()) dialed_member_[dialed] = member;
    if (auto drop = links_->Heard(member, pipe, !dialed.empty(), now)) {
      const std::string url = drop == pipe ? dialed : transport_->DialedUrl(*drop);
      if (!url.empty()) {
        transport_->HangUpBus(url);
        ++duplicate_links_closed_;
      }
    }
  }

  void UpdatePeers() {
    std::set<NodeId> now_known;
    for (const auto& [id, m] : membership_->members()) {
      transport_->SetPeer(id, m.info.p2p_url);
      now_known.insert(id);
    }
    for (NodeId gone : known_) {  // members that left (or were downed)
      if (now_known.count(gone) != 0) continue;
      transport_->RemovePeer(gone);
      links_->Forget(gone);
      std::erase_if(dialed_member_, [&](const auto& entry) { return entry.second == gone; });
      loss_.Forget(gone);
      pacer_->Forget(gone);
    }
    known_ = std::move(now_known);
    replicator_->SetPeers(membership_->Peers());
  }

  // With mu_ held: sends the Replicator's frames, keeps its events and completions.
  void CollectLocked() {
    SendOutputs();
    for (ReplicaEvent& e : replicator_->TakeEvents()) events_.push_back(std::move(e));
    bool completed = false;
    for (Completion& c : replicator_->TakeCompletions()) {
      pending_.erase(c.id);
      done_[c.id] = std::move(c);
      completed = true;
    }
    if (completed) done_cv_.notify_all();
    if (!events_.empty()) {
      has_events_.store(true, std::memory_order_release);
      events_cv_.notify_all();
    }
  }

  // After a request: the loop must wake up early only when the replicator now has something due
  // before the time the loop sleeps until (a first pending delta's flush, a request's timeout).
  // Waking it on every update would make each one a context switch. The loop sets loop_due_
  // under mu_ before it sleeps, so a deadline moved earlier after that is seen here.
  bool LoopMustWakeLocked() const { return replicator_->NextDeadline() < loop_due_; }

  void SendOutputs() {
    const TimeMicros now = WallMicros();
    for (OutgoingFrame& f : replicator_->TakeOutgoing()) {
      std::string frame;
      if (f.to) {
        frame.reserve(f.bytes.size() + 1);
        frame.push_back(kReplicationTag);
        frame += f.bytes;
        transport_->Send(*f.to, frame);
      } else {
        frame.reserve(internal::kBusHeaderSize + 1 + f.bytes.size());
        AppendBusHeader(&frame);
        frame.push_back(kReplicationTag);
        frame += f.bytes;
        BroadcastFrame(frame, now);
      }
    }
  }

  // With mu_ held: the header of this node's next bus frame.
  void AppendBusHeader(std::string* out) {
    const internal::MemberRecord& self = membership_->self();
    internal::AppendBusHeader(BusHeader{self.id, self.incarnation, ++bus_seq_}, out);
  }

  void BroadcastHeartbeat(internal::HeartbeatMsg h, TimeMicros now) {
    h.losses = loss_.Reports();
    std::string frame;
    AppendBusHeader(&frame);
    frame += internal::EncodeHeartbeatFrame(h);
    BroadcastFrame(frame, now);
  }

  void BroadcastFrame(std::string_view frame, TimeMicros now) {
    if (!transport_->Broadcast(frame) && pacer_->OnSendRefused(now)) {
      replicator_->SetDeltaFlushInterval(static_cast<double>(pacer_->interval()) / 1e6);
    }
  }

  NodeOptions options_;
  std::string name_;
  std::unique_ptr<Transport> transport_;

  mutable std::mutex mu_;                // the Replicator, membership and the outputs below
  std::atomic<bool> running_{false};     // written under mu_; read without it by running()
  std::atomic<bool> has_events_{false};  // events_ is not empty (set and cleared under mu_)
  TimeMicros loop_due_ = 0;              // when the loop wakes up on its own (under mu_)
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<Membership> membership_;
  ReplicaId replica_;
  TimeMicros started_at_ = 0;
  TimeMicros next_heartbeat_ = 0;
  uint64_t malformed_ = 0;
  internal::LossDetector loss_;                  // bus frames of the peers lost on the way
  std::unique_ptr<internal::FlushPacer> pacer_;  // back-pressure: the delta flush interval
  uint64_t bus_seq_ = 0;                         // the number of this node's last bus frame
  std::set<NodeId> known_;                       // the members as of the last UpdatePeers
  std::unique_ptr<internal::BusLinks> links_;    // one bus connection per pair
  std::map<std::string, NodeId> dialed_member_;  // a URL this node dialed -> who answered
  uint64_t duplicate_links_closed_ = 0;
  std::unique_ptr<SnapshotStore> store_;  // null: no snapshots
  TimeMicros next_snapshot_ = 0;
  uint64_t snapshots_ = 0;
  uint64_t snapshot_records_ = 0;
  uint64_t snapshot_failures_ = 0;
  bool snapshot_corrupt_ = false;
  size_t restored_keys_ = 0;
  std::set<RequestId> pending_;
  std::map<RequestId, Completion> done_;
  std::deque<ReplicaEvent> events_;
  std::condition_variable done_cv_;
  std::condition_variable events_cv_;

  std::mutex inbox_mu_;  // frames from the transport's threads
  std::condition_variable inbox_cv_;
  std::deque<Incoming> inbox_;
  bool woken_ = false;
  bool stop_hint_ = false;  // Stop() was called: the loop wakes up and ends

  std::thread loop_;
  std::unique_ptr<internal::SeedResolver> resolver_;  // when a seed names a DNS host
  std::unique_ptr<internal::MetricsServer> metrics_server_;
  std::string metrics_url_;

  friend class Node;
};

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;
void Node::Stop(bool graceful) { impl_->Stop(graceful); }
bool Node::running() const { return impl_->running(); }
NodeId Node::id() const { return impl_->id(); }
ReplicaId Node::replica_id() const { return impl_->replica_id(); }
const std::string& Node::name() const { return impl_->name(); }
const std::string& Node::bus_url() const { return impl_->bus_url(); }
const std::string& Node::p2p_url() const { return impl_->p2p_url(); }
const std::string& Node::metrics_url() const { return impl_->metrics_url(); }
Status Node::Run(const std::function<void(Replicator&, TimeMicros)>& op) { return impl_->Run(op); }
Result<RequestId> Node::Request(const RequestFn& op) { return impl_->Request(op); }
Result<Completion> Node::Await(RequestId request) { return impl_->Await(request); }
std::vector<ReplicaEvent> Node::WaitEvents(double timeout_seconds) {
  return impl_->WaitEvents(timeout_seconds);
}
bool Node::has_events() const { return impl_->has_events(); }
std::vector<MemberView> Node::Members() const { return impl_->Members(); }
NodeId Node::Leader() const { return impl_->Leader(); }
std::map<std::string, double> Node::Metrics() const { return impl_->Metrics(); }
uint64_t Node::StoreDigest() { return impl_->StoreDigest(); }

}  // namespace convergent
