// Node (convergent/node.h): the shell that runs a NodeCore on real threads. One loop thread
// takes the frames the transport's threads queued, hands them to the core and runs its timers;
// local requests run on the core's Replicator under the node's lock from the caller's thread.
#include "convergent/node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "convergent/metrics.h"
#include "node/metrics_http.h"
#include "node/node_core.h"
#include "node/seed_resolver.h"

namespace convergent {

using internal::NodeCore;

namespace {

// The node's Env: the one it was given, its wall clock shifted by what StepWallClock added.
class ShiftedEnv final : public Env {
 public:
  explicit ShiftedEnv(Env& base) : base_(base) {}
  void Step(TimeMicros by) { offset_ += by; }

  TimeMicros MonotonicMicros() override { return base_.MonotonicMicros(); }
  TimeMicros WallMicros() override { return base_.WallMicros() + offset_.load(); }
  void Log(LogLevel level, std::string_view source, std::string_view message) override {
    base_.Log(level, source, message);
  }
  uint64_t Random() override { return base_.Random(); }
  Result<std::unique_ptr<Transport>> NewTransport(const TransportOptions& options,
                                                  Transport::FrameHandler on_frame) override {
    return base_.NewTransport(options, std::move(on_frame));
  }
  Result<std::unique_ptr<SnapshotStore>> OpenSnapshotStore(const std::string& path,
                                                           std::string* damage) override {
    return base_.OpenSnapshotStore(path, damage);
  }

 private:
  Env& base_;
  std::atomic<TimeMicros> offset_{0};
};

}  // namespace

class Node::Impl {
 public:
  Impl(NodeOptions options, Env& env) : options_(std::move(options)), env_(env) {}

  void StepWallClock(TimeMicros by) { env_.Step(by); }

  Status Start() {
    auto core = NodeCore::Start(options_, env_, [this](std::string frame, bool bus, uint32_t pipe) {
      {
        std::lock_guard lock(inbox_mu_);
        inbox_.push_back(Incoming{std::move(frame), bus, pipe});
      }
      inbox_cv_.notify_one();
    });
    if (!core.ok()) return core.status();
    core_ = std::move(core).value();
    name_ = core_->name();
    if (std::any_of(options_.seeds.begin(), options_.seeds.end(),
                    internal::SeedResolver::HasName)) {
      resolver_ =
          std::make_unique<internal::SeedResolver>(options_.seeds, options_.seed_resolve_interval);
    }
    running_ = true;
    loop_ = std::thread([this] { Loop(); });
    if (!options_.metrics_listen.empty()) {
      auto server = internal::MetricsServer::Start(options_.metrics_listen, HttpRoutes());
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

  // The metrics endpoint's paths: the exposition, and the probes an orchestrator asks (each takes
  // the node's lock, so a node whose loop is stuck holding it does not answer them at all).
  std::map<std::string, internal::MetricsServer::Route> HttpRoutes() {
    using internal::HttpAnswer;
    return {
        {"/metrics",
         [this] {
           return HttpAnswer{200, PrometheusText(Metrics(), name_),
                             "text/plain; version=0.0.4; charset=utf-8"};
         }},
        {"/ready",
         [this] {
           std::lock_guard lock(mu_);
           if (!running_) return HttpAnswer{503, "stopped\n"};
           if (core_->ready()) return HttpAnswer{200, "ready\n"};
           return HttpAnswer{503, "not ready: " + core_->WaitingFor() + "\n"};
         }},
        {"/live",
         [this] {
           std::lock_guard lock(mu_);
           return running_ ? HttpAnswer{200, "live\n"} : HttpAnswer{503, "stopped\n"};
         }},
    };
  }

  void Stop(bool graceful) {
    metrics_server_.reset();  // no more renders while the node goes down
    {
      std::lock_guard lock(mu_);
      if (!running_) return;
      if (graceful) core_->Leave();
      running_ = false;
    }
    {
      std::lock_guard lock(inbox_mu_);
      stop_hint_ = true;
    }
    inbox_cv_.notify_all();
    done_cv_.notify_all();
    events_cv_.notify_all();
    ready_cv_.notify_all();
    if (loop_.joinable()) loop_.join();
    resolver_.reset();
    std::lock_guard lock(mu_);
    // The transport's close says bye after the goodbye above and waits (briefly) for the peers to
    // drop their connections, which they do on reading the bye: by then they have the goodbye.
    // It also releases the LevelDB lock: the node may start again in this process.
    core_->Close();
  }

  bool running() const { return running_.load(std::memory_order_acquire); }
  bool has_events() const { return has_events_.load(std::memory_order_acquire); }

  Status Run(const std::function<void(Replicator&, TimeMicros)>& op) {
    {
      std::lock_guard lock(mu_);
      if (!running_) return Status::InvalidArgument("the node " + name_ + " is stopped");
      op(core_->replicator(), core_->Now());
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
      r = op(core_->replicator(), core_->Now());
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

  bool ready() const {
    std::lock_guard lock(mu_);
    return core_->ready();
  }

  Status WaitReady(double timeout_seconds) {
    std::unique_lock lock(mu_);
    ready_cv_.wait_for(lock, std::chrono::duration<double>(std::max(timeout_seconds, 0.0)),
                       [&] { return !running_ || core_->ready(); });
    if (!running_) return Status::InvalidArgument("the node " + name_ + " is stopped");
    if (core_->ready()) return Status::Ok();
    return Status::Timeout("node " + name_ + " is not ready after " +
                           std::to_string(timeout_seconds) + " s (" + core_->WaitingFor() + ")");
  }

  std::vector<MemberView> Members() const {
    std::lock_guard lock(mu_);
    return core_->Members();
  }

  void RetireWriter(ReplicaId writer) {
    std::lock_guard lock(mu_);
    if (running_) core_->RetireWriter(writer);  // a stopped node tells no one
  }

  NodeId Leader() const {
    std::lock_guard lock(mu_);
    return core_->Leader();
  }

  std::map<std::string, double> Metrics() const {
    std::lock_guard lock(mu_);
    return core_->Metrics();
  }

  uint64_t StoreDigest() {
    std::lock_guard lock(mu_);
    return core_->replicator().StoreDigest();
  }

  NodeId id() const { return core_->id(); }
  ReplicaId replica_id() const { return core_->replica_id(); }
  const std::string& name() const { return name_; }
  const std::string& bus_url() const { return core_->bus_url(); }
  const std::string& p2p_url() const { return core_->p2p_url(); }
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
      TimeMicros wait = 0;
      {
        std::lock_guard lock(mu_);
        if (!running_) return;
        loop_due_ = core_->NextDeadline();
        const TimeMicros now = core_->Now();
        wait = loop_due_ <= now ? 0 : loop_due_ - now;  // a deadline may be the minimum value
      }
      {
        std::unique_lock lock(inbox_mu_);
        inbox_cv_.wait_for(lock, std::chrono::microseconds(wait),
                           [&] { return !inbox_.empty() || woken_ || stop_hint_; });
        batch.swap(inbox_);
        woken_ = false;
      }
      std::lock_guard lock(mu_);
      if (!running_) return;
      if (resolver_ != nullptr) core_->SetSeeds(resolver_->Current());
      for (Incoming& in : batch) core_->OnFrame(in.bytes, in.from_bus, in.pipe);
      core_->Tick();
      CollectLocked();
      if (core_->ready()) ready_cv_.notify_all();
    }
  }

  // With mu_ held: sends the Replicator's frames, keeps its events and completions.
  void CollectLocked() {
    core_->Flush();
    Replicator& r = core_->replicator();
    for (ReplicaEvent& e : r.TakeEvents()) events_.push_back(std::move(e));
    bool completed = false;
    for (Completion& c : r.TakeCompletions()) {
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

  // After a request: the loop must wake up early only when the core now has something due
  // before the time the loop sleeps until (a first pending delta's flush, a request's timeout).
  // Waking it on every update would make each one a context switch. The loop sets loop_due_
  // under mu_ before it sleeps, so a deadline moved earlier after that is seen here.
  bool LoopMustWakeLocked() const { return core_->NextDeadline() < loop_due_; }

  NodeOptions options_;
  ShiftedEnv env_;
  std::string name_;

  mutable std::mutex mu_;                // the core and the outputs below
  std::atomic<bool> running_{false};     // written under mu_; read without it by running()
  std::atomic<bool> has_events_{false};  // events_ is not empty (set and cleared under mu_)
  TimeMicros loop_due_ = 0;              // when the loop wakes up on its own (under mu_)
  std::unique_ptr<NodeCore> core_;
  std::set<RequestId> pending_;
  std::map<RequestId, Completion> done_;
  std::deque<ReplicaEvent> events_;
  std::condition_variable done_cv_;
  std::condition_variable events_cv_;
  std::condition_variable ready_cv_;

  std::mutex inbox_mu_;  // frames from the transport's threads
  std::condition_variable inbox_cv_;
  std::deque<Incoming> inbox_;
  bool woken_ = false;
  bool stop_hint_ = false;  // Stop() was called: the loop wakes up and ends

  std::thread loop_;
  std::unique_ptr<internal::SeedResolver> resolver_;  // when a seed names a DNS host
  std::unique_ptr<internal::MetricsServer> metrics_server_;
  std::string metrics_url_;
};

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options, Env& env) {
  auto impl = std::make_unique<Impl>(std::move(options), env);
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;
void Node::Stop(bool graceful) { impl_->Stop(graceful); }
void Node::StepWallClock(double seconds) {
  impl_->StepWallClock(static_cast<TimeMicros>(seconds * 1e6));
}
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
bool Node::ready() const { return impl_->ready(); }
Status Node::WaitReady(double timeout_seconds) { return impl_->WaitReady(timeout_seconds); }
std::vector<MemberView> Node::Members() const { return impl_->Members(); }
NodeId Node::Leader() const { return impl_->Leader(); }
void Node::RetireWriter(ReplicaId writer) { impl_->RetireWriter(writer); }
std::map<std::string, double> Node::Metrics() const { return impl_->Metrics(); }
uint64_t Node::StoreDigest() { return impl_->StoreDigest(); }

}  // namespace convergent
