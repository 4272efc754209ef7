#include "node/node_core.h"

#include <algorithm>
#include <utility>

#include "node/node_codec.h"

namespace convergent::internal {

Result<std::unique_ptr<NodeCore>> NodeCore::Start(NodeOptions options, Env& env,
                                                  Transport::FrameHandler deliver) {
  if (Status s = options.Validate(); !s.ok()) return s;
  std::unique_ptr<NodeCore> core(new NodeCore(std::move(options), env));
  if (Status s = core->Open(std::move(deliver)); !s.ok()) {
    core->Close();
    return s;
  }
  return core;
}

NodeCore::NodeCore(NodeOptions options, Env& env) : options_(std::move(options)), env_(env) {}

NodeCore::~NodeCore() { Close(); }

Status NodeCore::Open(Transport::FrameHandler deliver) {
  auto transport = env_.NewTransport(options_.transport, std::move(deliver));
  if (!transport.ok()) return transport.status();
  transport_ = std::move(transport).value();
  if (options_.wrap_transport) transport_ = options_.wrap_transport(std::move(transport_));
  const TimeMicros now = Now();
  MemberRecord self;
  self.name = options_.name.empty() ? transport_->bus_url() : options_.name;
  self.id = options_.id.value_or(ReplicaId::FromName(self.name).value);
  // Incarnations order the lives of a node across restarts, also across reboots: wall time, in
  // an order-preserving map of every int64 (a wall clock before the epoch too) onto uint64.
  self.incarnation = static_cast<uint64_t>(env_.WallMicros()) ^ (uint64_t{1} << 63);
  self.bus_url = transport_->bus_url();
  self.p2p_url = transport_->p2p_url();
  self.role = options_.replicator.role.value_or("");
  self.datacenter = options_.datacenter;
  ReplicaId replica{env_.Random()};
  while (replica.value == 0) replica.value = env_.Random();
  self.replica = replica.value;
  started_at_ = now;
  next_heartbeat_ = now;
  membership_ = std::make_unique<Membership>(self, MicrosOf(options_.failure_timeout),
                                             MicrosOf(options_.down_after));
  dcs_ = std::make_unique<Datacenters>(options_.datacenter, options_.remote_seeds,
                                       MicrosOf(options_.failure_timeout));
  formation_ = std::make_unique<Formation>(self.bus_url, options_.min_members);
  formation_->SetSeeds(options_.seeds);
  links_ = std::make_unique<BusLinks>(self.id, MicrosOf(options_.failure_timeout));
  handshakes_ = std::make_unique<HandshakeReport>(
      env_, self.name, options_.transport.listen.rfind("tls+tcp://", 0) == 0);
  pacer_ = std::make_unique<FlushPacer>(MicrosOf(options_.replicator.delta_flush_interval),
                                        MicrosOf(options_.max_delta_flush_interval),
                                        MicrosOf(options_.heartbeat_interval));
  replicator_ = std::make_unique<Replicator>(self.id, replica, options_.replicator, env_.Random());
  replicator_->SetWallClock([this] { return env_.WallMicros(); });
  replicator_->SetReplicaCount(formation_->ReplicaCount(*membership_));
  if (!options_.snapshot_dir.empty()) {
    auto keeper = SnapshotKeeper::Open(env_, options_.snapshot_dir, self.name,
                                       MicrosOf(options_.snapshot_interval));
    if (!keeper.ok()) return keeper.status();
    snapshots_ = std::move(keeper).value();
    snapshots_->Restore(*replicator_, now);
  }
  replicator_->ExpectPeers(!options_.seeds.empty());
  return Status::Ok();
}

TimeMicros NodeCore::Now() const { return env_.MonotonicMicros(); }

void NodeCore::SetSeeds(const std::vector<std::string>& seeds) {
  formation_->SetSeeds(seeds);
  replicator_->ExpectPeers(!seeds.empty());
  formation_->Observe(*membership_);
  replicator_->SetReplicaCount(formation_->ReplicaCount(*membership_));
}

TimeMicros NodeCore::NextDeadline() const {
  TimeMicros due = std::min(replicator_->NextDeadline(), next_heartbeat_);
  if (snapshots_ != nullptr) due = std::min(due, snapshots_->next_due());
  return due;
}

void NodeCore::OnFrame(std::string_view frame, bool from_bus, uint32_t bus_pipe) {
  if (closed_) return;
  Dispatch(frame, from_bus, bus_pipe, Now());
}

void NodeCore::Tick() {
  if (closed_) return;
  const TimeMicros now = Now();
  if (now >= next_heartbeat_) Heartbeat(now);
  if (membership_->Check(now)) {
    UpdatePeers();
  } else if (formation_->UnheardSeeds() == 0 && !seeds_heard_) {
    UpdatePruning();  // the last seed was heard: the members are known now
  }
  replicator_->Tick(now);
  Flush();
  if (snapshots_ != nullptr) snapshots_->MaybeWrite(*replicator_, now);
}

void NodeCore::RetireWriter(ReplicaId writer) {
  if (writer == replica_id()) return;  // this node's own replica retires with the node
  membership_->NoteRemoved(writer.value, Now());
  UpdatePruning();  // hands it to the replicator now
}

void NodeCore::Leave() {
  if (closed_) return;
  const TimeMicros now = Now();
  // Flush what is buffered, write a last snapshot, and say goodbye, so peers drop us at once.
  replicator_->Tick(now + MicrosOf(options_.replicator.delta_flush_interval) + 1);
  Flush();
  if (snapshots_ != nullptr) snapshots_->MaybeWrite(*replicator_, now, /*now_anyway=*/true);
  BroadcastHeartbeat(membership_->MakeHeartbeat(true), now);
}

void NodeCore::Close() {
  if (closed_) return;
  closed_ = true;
  if (transport_ != nullptr) transport_->Close();
  if (snapshots_ != nullptr) snapshots_->Close();
}

bool NodeCore::ready() const { return formation_->Ready(*membership_); }

std::string NodeCore::WaitingFor() const {
  if (ready()) return "";
  std::string out;
  for (const std::string& seed : formation_->seeds()) {
    if (!formation_->Heard(seed)) out += (out.empty() ? "seeds not heard from: " : ", ") + seed;
  }
  if (options_.min_members > 1) {
    out += (out.empty() ? "" : "; ") + std::string("min_members ") +
           std::to_string(options_.min_members);
  }
  return out;
}

// ---- frames ----

void NodeCore::Dispatch(std::string_view frame, bool from_bus, uint32_t pipe, TimeMicros now) {
  if (!from_bus) {
    if (frame.empty()) {
      ++malformed_;
    } else if (frame[0] == kReplicationTag) {
      replicator_->Receive(frame.substr(1), now);  // it drops and counts what does not decode
    } else if (frame[0] == kDatacenterHelloTag) {
      OnDatacenterHello(frame.substr(1), now);
    } else if (frame[0] == kHeartbeatTag) {
      NoteForged("a heartbeat sent point to point, where none is ever sent", now);
    } else {
      ++malformed_;
    }
    return;
  }
  // The bus: numbered frames (find what was lost on the way, drop duplicates) of the member
  // whose connection it is.
  Result<BusHeader> h = DecodeBusHeader(frame, &frame);
  if (!h.ok() || frame.empty()) {
    ++malformed_;
    return;
  }
  const std::optional<NodeId> owner = links_->OwnerOf(pipe);
  if (owner && *owner != h->sender) {
    NoteForged("a frame claiming member " + ReplicaId{h->sender}.ToString() +
                   " on the bus connection of member " + ReplicaId{*owner}.ToString(),
               now);
    return;
  }
  std::optional<HeartbeatMsg> heartbeat;
  if (frame[0] == kHeartbeatTag) {
    Result<HeartbeatMsg> hb = DecodeHeartbeat(frame.substr(1));
    if (!hb.ok() || hb->sender.id != h->sender) {
      ++malformed_;  // garbled, or its header and its body name two senders
      return;
    }
    // (A member of another datacenter speaks on a probing connection, which no heartbeat of
    // this datacenter names: its goodbye is its own business, see OnRemoteHeartbeat.)
    const bool local = hb->sender.datacenter == membership_->self().datacenter;
    if (hb->sender.leaving && local && owner != h->sender) {
      NoteForged("a goodbye of member " + ReplicaId{h->sender}.ToString() +
                     " on a bus connection that never carried its heartbeats",
                 now);
      return;
    }
    heartbeat = std::move(hb).value();
  } else if (frame[0] != kReplicationTag) {
    ++malformed_;
    return;
  }
  if (h->sender == membership_->self().id) {
    // Our own frame: a seed that is this node under another name. It is heard.
    const std::string dialed = transport_->DialedUrl(pipe);
    if (!dialed.empty()) {
      formation_->Reached(dialed, h->sender);
      formation_->Observe(*membership_);
      transport_->HangUpBus(dialed);
    }
    return;
  }
  if (dcs_->IsRemote(h->sender)) {
    // Another datacenter's member over a probing connection: not numbered for this node.
    if (heartbeat) OnHeartbeat(*heartbeat, pipe, now);
    return;
  }
  // A connection no heartbeat has named yet does not start a new life of a member heard
  // elsewhere (a frame there may be forged): such a frame is delivered, unnumbered. The member's
  // own frames on a new connection, of its known life, are numbered as any.
  if (owner || !membership_->IsReachable(h->sender) || loss_.Numbers(h->sender, h->incarnation)) {
    uint64_t lost = 0;
    const auto verdict = loss_.OnFrame(h->sender, h->incarnation, h->seq, &lost,
                                       !membership_->IsReachable(h->sender));
    if (verdict == LossDetector::Verdict::kDuplicate) {
      // A copy of a frame that came first over another connection between the two nodes: this
      // one carries the member's frames all the same. BusLinks must hear of it, or a connection
      // whose copies always come second is never found redundant (every frame travels twice)
      // nor owned (the member's goodbye on it would count as forged).
      if (heartbeat && !heartbeat->sender.leaving) KeepOneBusLink(h->sender, pipe, now);
      return;
    }
    if (lost > 0) replicator_->RepairFrom(h->sender, now);
  }
  if (heartbeat) {
    OnHeartbeat(*heartbeat, pipe, now);
  } else {
    replicator_->Receive(frame.substr(1), now);
  }
}

void NodeCore::NoteForged(const std::string& what, TimeMicros now) {
  ++forged_;
  if (now < next_forged_log_) return;
  next_forged_log_ = now + 10'000'000;
  env_.Log(LogLevel::kWarning, membership_->self().name,
           "dropped " + what + " (forged frames so far: " + std::to_string(forged_) + ")");
}

void NodeCore::OnHeartbeat(const HeartbeatMsg& h, uint32_t pipe, TimeMicros now) {
  const MemberRecord& self = membership_->self();
  if (h.sender.datacenter != self.datacenter) {
    OnRemoteHeartbeat(h, pipe, now);
    return;
  }
  for (const LossReport& l : h.losses) {
    if (l.sender == self.id && l.incarnation == self.incarnation &&
        pacer_->OnLossReport(h.sender.id, h.sender.incarnation, l.frames_lost, bus_seq_, now)) {
      SetFlushIntervalFromPacer();
    }
  }
  if (h.sender.id != self.id && !h.sender.leaving) {
    KeepOneBusLink(h.sender.id, pipe, now);
  }
  if (membership_->OnHeartbeat(h, now, /*direct=*/true)) {
    UpdatePeers();
  } else if (membership_->has_removed_replicas()) {
    UpdatePruning();  // a removal heard without a change of members (a retired writer)
  }
  if (dcs_->enabled() && h.sender.id != self.id) {
    if (h.sender.id == membership_->Leader()) {
      // The gateway's word: the other datacenters, and what they acknowledged.
      if (dcs_->Adopt(h.datacenters)) UpdateDatacenters(now);
      replicator_->TrimDatacenterBuffers(h.dc_acked, now);
    } else if (gateway() && dcs_->Learn(h.datacenters)) {
      UpdateDatacenters(now);  // members of other datacenters that member met: greeted next
    }
  }
}

// ---- datacenters ----

void NodeCore::OnRemoteHeartbeat(const HeartbeatMsg& h, uint32_t pipe, TimeMicros now) {
  if (!dcs_->enabled()) {
    ++foreign_heartbeats_;  // a node of a datacenter, while this one has none: misconfigured
    return;
  }
  DatacenterHelloMsg hello{h.sender, h.known, std::nullopt, false};
  hello.members.push_back(h.sender);
  ++hellos_received_;
  dcs_->OnHello(hello, now);
  const std::string dialed = transport_->DialedUrl(pipe);
  if (!dialed.empty()) {
    // This node's probe reached a member of that datacenter: from now on, point to point.
    transport_->HangUpBus(dialed);
    probing_.erase(dialed);
  }
  UpdateDatacenters(now);
  if (dialed.empty()) SendHello(h.sender, /*reply=*/true);  // its probe: it learns of this one
}

void NodeCore::OnDatacenterHello(std::string_view body, TimeMicros now) {
  Result<DatacenterHelloMsg> h = DecodeDatacenterHello(body);
  if (!h.ok() || !dcs_->enabled() || h->sender.datacenter == membership_->self().datacenter) {
    ++malformed_;
    return;
  }
  ++hellos_received_;
  const bool changed = dcs_->OnHello(*h, now);
  if (changed) UpdateDatacenters(now);
  if (!h->reply) SendHello(h->sender, /*reply=*/true);
}

void NodeCore::SendHello(const MemberRecord& to, bool reply) {
  if (to.p2p_url.empty()) return;
  auto known = remote_peers_.find(to.id);
  if (known == remote_peers_.end() || known->second != to.p2p_url) {
    transport_->SetPeer(to.id, to.p2p_url);
    remote_peers_[to.id] = to.p2p_url;
  }
  DatacenterHelloMsg hello;
  hello.sender = membership_->self();
  hello.members.push_back(hello.sender);
  for (const auto& [id, m] : membership_->members()) {
    if (m.reachable) hello.members.push_back(m.info);
  }
  hello.gateway = membership_->Leader();
  hello.reply = reply;
  ++hellos_sent_;
  transport_->Send(to.id, EncodeDatacenterHelloFrame(hello));
}

void NodeCore::GreetDatacenters(TimeMicros now) {
  if (gateway()) {
    for (const MemberRecord& m : dcs_->ToGreet(membership_->self().role, now)) {
      SendHello(m, /*reply=*/false);
    }
    // A probe is hung up only once its connection carried a heartbeat (OnRemoteHeartbeat): a
    // dialer closed while it connects can panic Debian 12's NNG 1.5.2 ("appending node already
    // on a list"). A seed that never answers keeps being redialed, by NNG, at its pace.
    for (const std::string& url : dcs_->ToProbe()) {
      if (url != membership_->self().bus_url && probing_.insert(url).second) {
        transport_->DialBus(url);
      }
    }
  }
  UpdateDatacenters(now);
}

void NodeCore::UpdateDatacenters(TimeMicros now) {
  if (!dcs_->enabled()) return;
  // Addresses of the other datacenters' members are set, and changed, but never removed: a
  // member that a hello leaves out (unreachable for now) is often back at once, and closing and
  // reopening its socket over and over closes dialers while they connect (see GreetDatacenters).
  // They are bounded by the members of at most kMaxDatacenters datacenters (ids are stable).
  for (const MemberRecord& m : dcs_->AllMembers()) {
    if (m.p2p_url.empty()) continue;
    auto known = remote_peers_.find(m.id);
    if (known == remote_peers_.end() || known->second != m.p2p_url) {
      transport_->SetPeer(m.id, m.p2p_url);
      remote_peers_[m.id] = m.p2p_url;
    }
  }
  const bool is_gateway = gateway();
  replicator_->SetDatacenters(dcs_->self(),
                              dcs_->ForReplicator(membership_->self().role, is_gateway, now),
                              is_gateway, now);
}

// ---- membership ----

void NodeCore::Heartbeat(TimeMicros now) {
  // While forming (not ready, in its first ten intervals), five times as often: members meet
  // within a fraction of the interval. A seed that never answers does not keep it up.
  const bool forming = !ready() && now - started_at_ < MicrosOf(10 * options_.heartbeat_interval);
  const double interval = options_.heartbeat_interval / (forming ? 5 : 1);
  next_heartbeat_ = now + MicrosOf(interval);
  HeartbeatMsg h = membership_->MakeHeartbeat();
  if (dcs_->enabled()) {
    h.datacenters = dcs_->Gossip(now);
    if (gateway()) h.dc_acked = replicator_->DatacenterAckedAges(now);
  }
  BroadcastHeartbeat(std::move(h), now);
  if (handshakes_->Due(now)) handshakes_->Check(transport_->stats(), now);
  if (pacer_->Advance(now)) SetFlushIntervalFromPacer();
  DialMembersAndSeeds(now);
  if (dcs_->enabled()) GreetDatacenters(now);
}

// Connects the bus: to members (and seeds) not heard from. The node with the smaller URL dials;
// the other waits two heartbeats for it, then dials too (a node only its seeds know).
void NodeCore::DialMembersAndSeeds(TimeMicros now) {
  const std::string& own = membership_->self().bus_url;
  const bool patient = now - started_at_ < 2 * MicrosOf(options_.heartbeat_interval);
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
  // A seed whose connection reached a member that is heard (or this node itself): not dialed
  // again (its dialer may have been hung up as redundant).
  for (const auto& [url, id] : dialed_member_) {
    if (id == membership_->self().id || membership_->IsReachable(id)) heard.insert(url);
  }
  for (const std::string& seed : formation_->seeds()) {
    if (heard.count(seed) == 0) maybe_dial(seed);
  }
}

// A heartbeat of `member` came over bus connection `pipe`: hangs up a redundant connection to it
// that this node dialed (see BusLinks), and notes which member a dialed URL reaches.
void NodeCore::KeepOneBusLink(NodeId member, uint32_t pipe, TimeMicros now) {
  const std::string dialed = transport_->DialedUrl(pipe);
  if (!dialed.empty()) {
    dialed_member_[dialed] = member;
    formation_->Reached(dialed, member);
    formation_->Observe(*membership_);
  }
  if (auto drop = links_->Heard(member, pipe, !dialed.empty(), now)) {
    const std::string url = drop == pipe ? dialed : transport_->DialedUrl(*drop);
    if (!url.empty()) {
      transport_->HangUpBus(url);
      ++duplicate_links_closed_;
    }
  }
}

void NodeCore::UpdatePeers() {
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
  formation_->Observe(*membership_);
  replicator_->SetPeers(membership_->Peers());
  replicator_->SetReplicaCount(formation_->ReplicaCount(*membership_));
  UpdateDatacenters(Now());  // the leader, so the gateway, may have changed
  UpdatePruning();
  // What either side wrote before they were connected (or while they were apart) crosses now,
  // not at the next anti-entropy round: no gap in frame numbers reveals it.
  for (NodeId met : membership_->TakeMet()) replicator_->SyncWith(met);
}

void NodeCore::UpdatePruning() {
  // The members' incarnations, for the pruning of removed ones and the collection of tombstones
  // (none, so nothing is pruned or collected, while a member's is unknown: it could not be asked
  // whether it holds a pruning's marker or a delete). Until every seed is heard, the members are
  // not known either: a restarted node that has not heard of a member yet must not act without it.
  const MemberRecord& self = membership_->self();
  std::vector<ReplicaId> replicas = {ReplicaId{self.replica}};
  seeds_heard_ = formation_->UnheardSeeds() == 0;
  // With datacenters, not yet: the replicas of the other datacenters would have to hold every
  // pruning marker and delete too, and only their gateways talk (docs/concepts.md).
  if (!seeds_heard_ || dcs_->enabled()) replicas.clear();
  for (const auto& [id, m] : membership_->members()) {
    if (replicas.empty()) break;
    if (m.info.role != self.role) continue;
    if (m.info.replica == 0) {
      replicas.clear();
      break;
    }
    replicas.push_back(ReplicaId{m.info.replica});
  }
  replicator_->SetMemberReplicas(std::move(replicas));
  replicator_->SetPruningLeader(membership_->Leader() == self.id);
  const TimeMicros now = Now();
  for (uint64_t removed : membership_->TakeRemovedReplicas()) {
    replicator_->RemoveReplica(ReplicaId{removed}, now);
  }
}

void NodeCore::SetFlushIntervalFromPacer() {
  replicator_->SetDeltaFlushInterval(static_cast<double>(pacer_->interval()) / 1e6);
}

// ---- sending ----

void NodeCore::Flush() {
  if (closed_) {
    replicator_->TakeOutgoing();
    return;
  }
  const TimeMicros now = Now();
  for (const auto& [key, size] : replicator_->TakeLargeKeys()) {
    env_.Log(LogLevel::kWarning, membership_->self().name,
             "key '" + key + "' holds a state of " + std::to_string(size) +
                 " bytes (log_data_size_exceeding " +
                 std::to_string(options_.replicator.log_data_size_exceeding) +
                 "): large keys are slow to repair and to send to new nodes");
  }
  for (OutgoingFrame& f : replicator_->TakeOutgoing()) {
    std::string frame;
    if (f.to) {
      frame.reserve(f.bytes.size() + 1);
      frame.push_back(kReplicationTag);
      frame += f.bytes;
      if (!transport_->Send(*f.to, frame)) replicator_->ReturnRefused(std::move(f), now);
    } else {
      frame = NextBusHeader();
      frame.reserve(kBusHeaderSize + 1 + f.bytes.size());
      frame.push_back(kReplicationTag);
      frame += f.bytes;
      BroadcastFrame(frame, now);
    }
  }
}

std::string NodeCore::NextBusHeader() {
  const MemberRecord& self = membership_->self();
  std::string out;
  AppendBusHeader(BusHeader{self.id, self.incarnation, ++bus_seq_}, &out);
  return out;
}

void NodeCore::BroadcastHeartbeat(HeartbeatMsg h, TimeMicros now) {
  h.losses = loss_.Reports();
  std::string frame = NextBusHeader();
  frame += EncodeHeartbeatFrame(h);
  BroadcastFrame(frame, now);
}

void NodeCore::BroadcastFrame(std::string_view frame, TimeMicros now) {
  if (!transport_->Broadcast(frame) && pacer_->OnSendRefused(now)) SetFlushIntervalFromPacer();
}

// ---- observation ----

std::vector<MemberView> NodeCore::Members() const {
  std::vector<MemberView> out;
  const MemberRecord& self = membership_->self();
  out.push_back(
      MemberView{self.id, self.name, self.bus_url, self.role, true, true, self.datacenter});
  for (const auto& [id, m] : membership_->members()) {
    out.push_back(MemberView{id, m.info.name, m.info.bus_url, m.info.role, m.reachable, false,
                             m.info.datacenter});
  }
  for (const Datacenters::View& v : dcs_->Views(gateway(), Now())) {
    for (const MemberRecord& m : v.members) {
      out.push_back(MemberView{m.id, m.name, m.bus_url, m.role, v.reachable, false, v.name});
    }
  }
  return out;
}

NodeId NodeCore::Leader() const { return membership_->Leader(); }

std::map<std::string, double> NodeCore::Metrics() const {
  std::map<std::string, double> m = replicator_->NamedMetrics();
  const TransportStats t = transport_->stats();
  m["convergent.transport.frames.sent"] = static_cast<double>(t.frames_sent);
  m["convergent.transport.frames.received"] = static_cast<double>(t.frames_received);
  m["convergent.transport.bytes.sent"] = static_cast<double>(t.bytes_sent);
  m["convergent.transport.bytes.received"] = static_cast<double>(t.bytes_received);
  m["convergent.transport.send.dropped"] = static_cast<double>(t.send_dropped);
  m["convergent.transport.frames.oversized"] = static_cast<double>(t.frames_oversized);
  m["convergent.transport.bus.connections"] = static_cast<double>(t.bus_peers);
  m["convergent.transport.handshakes.refused"] = static_cast<double>(t.handshakes_refused);
  m["convergent.transport.dials.refused"] = static_cast<double>(t.dials_refused);
  m["convergent.transport.bus.duplicates.closed"] = static_cast<double>(duplicate_links_closed_);
  m["convergent.node.frames.malformed"] = static_cast<double>(malformed_);
  m["convergent.node.frames.forged"] = static_cast<double>(forged_);
  m["convergent.transport.bus.frames.lost"] = static_cast<double>(loss_.total_lost());
  m["convergent.transport.bus.frames.duplicate"] = static_cast<double>(loss_.total_duplicates());
  m["convergent.backpressure.congestion.count"] = static_cast<double>(pacer_->congestion_signals());
  m["convergent.backpressure.flush.interval.seconds"] = replicator_->delta_flush_interval();
  if (snapshots_ != nullptr) snapshots_->AddMetrics(m);
  size_t reachable = 0;
  for (const auto& [id, s] : membership_->members()) reachable += s.reachable ? 1 : 0;
  m["convergent.membership.members"] = static_cast<double>(membership_->members().size() + 1);
  m["convergent.membership.reachable"] = static_cast<double>(reachable + 1);
  m["convergent.membership.downed"] = static_cast<double>(membership_->downed_count());
  m["convergent.membership.replicas.counted"] = static_cast<double>(replicator_->replica_count());
  m["convergent.membership.seeds.unheard"] = static_cast<double>(formation_->UnheardSeeds());
  m["convergent.node.ready"] = ready() ? 1 : 0;
  if (dcs_->enabled()) {
    size_t reachable_dcs = 0;
    const std::vector<Datacenters::View> views = dcs_->Views(gateway(), Now());
    for (const Datacenters::View& v : views) reachable_dcs += v.reachable ? 1 : 0;
    m["convergent.datacenters.remote"] = static_cast<double>(views.size());
    m["convergent.datacenters.reachable"] = static_cast<double>(reachable_dcs);
    m["convergent.datacenters.hellos.sent"] = static_cast<double>(hellos_sent_);
    m["convergent.datacenters.hellos.received"] = static_cast<double>(hellos_received_);
    m["convergent.datacenters.probes"] = static_cast<double>(probing_.size());
  }
  m["convergent.node.heartbeats.foreign"] = static_cast<double>(foreign_heartbeats_);
  return m;
}

}  // namespace convergent::internal
