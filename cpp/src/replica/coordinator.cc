#include "replica/coordinator.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "convergent/codec.h"

namespace convergent::internal {

Coordinator::Coordinator(CoordinatorHost& host, const ReplicatorOptions& options,
                         ReplicatorMetrics& metrics, std::vector<Completion>& completions,
                         RequestId first_request)
    : host_(host),
      options_(options),
      metrics_(metrics),
      completions_(completions),
      next_request_(first_request) {}

size_t Coordinator::Needed(Consistency level) const {
  const size_t n = host_.CoordinationN();
  switch (level.kind()) {
    case Consistency::Kind::kLocal:
      return 0;
    case Consistency::Kind::kMajority: {
      // floor(N/2) + 1 replicas (at least min_cap), plus the additional ones, at most N; self
      // is one of them.
      const size_t majority = std::max<size_t>(n / 2 + 1, level.min_cap());
      return std::min<size_t>(majority + level.plus(), n) - 1;
    }
    case Consistency::Kind::kAll:
      return n - 1;
    case Consistency::Kind::kCount:
      return level.count() > 0 ? level.count() - 1 : 0;
    case Consistency::Kind::kDcMajority:
    case Consistency::Kind::kDcAll:
      return n / 2;  // a majority here
  }
  return 0;
}

size_t Coordinator::DatacentersNeeded(Consistency level) const {
  const size_t others = host_.CoordinationDatacenters().size();
  if (level.kind() == Consistency::Kind::kDcAll) return others;
  if (level.kind() == Consistency::Kind::kDcMajority) return (others + 1) / 2;  // this one counts
  return 0;
}

void Coordinator::AskDatacenters(Pending& r, bool again) {
  if (r.dc_needed == 0) return;
  FrameBody message = r.message;
  if (auto* w = std::get_if<WriteRequestMsg>(&message)) w->datacenter = true;
  if (auto* q = std::get_if<ReadRequestMsg>(&message)) q->datacenter = true;
  for (const auto& [dc, target] : host_.CoordinationDatacenters()) {
    if (!target || r.dc_answered.count(dc) != 0 || r.dc_failed.count(dc) != 0) continue;
    std::vector<NodeId>& asked = r.dc_asked[dc];
    const bool new_target = std::find(asked.begin(), asked.end(), *target) == asked.end();
    if (!new_target && !again) continue;
    if (new_target) asked.push_back(*target);
    host_.SendTo(*target, message);
  }
}

RequestId Coordinator::Start(Pending r, TimeMicros now, std::optional<double> timeout) {
  r.needed = Needed(r.level);
  r.dc_needed = DatacentersNeeded(r.level);
  if (r.needed == 0 && r.dc_needed == 0) return 0;
  const RequestId id = next_request_++;
  if (auto* w = std::get_if<WriteRequestMsg>(&r.message)) w->request_id = id;
  if (auto* q = std::get_if<ReadRequestMsg>(&r.message)) q->request_id = id;
  r.waiting = host_.CoordinationPeers();
  r.asked = r.waiting;
  r.deadline = now + MicrosOf(timeout.value_or(options_.coordination_timeout));
  r.resend_interval = MicrosOf(options_.coordination_resend_interval);
  r.next_resend = now + r.resend_interval;
  for (NodeId peer : r.asked) host_.SendTo(peer, r.message);
  AskDatacenters(r, /*again=*/false);
  requests_.emplace(id, std::move(r));
  return id;
}

RequestId Coordinator::StartWrite(WriteRequestMsg msg, Consistency level, TimeMicros now,
                                  std::optional<double> timeout) {
  Pending r;
  r.level = level;
  r.key = msg.entry ? msg.entry->key : msg.tombstone->key;
  r.message = std::move(msg);
  const RequestId id = Start(std::move(r), now, timeout);
  if (id != 0) ++metrics_.coordinated_write_count;
  return id;
}

RequestId Coordinator::StartRead(std::string_view key, CrdtType type, Consistency level,
                                 TimeMicros now, std::optional<double> timeout) {
  Pending r;
  r.is_read = true;
  r.level = level;
  r.key = std::string(key);
  r.type = type;
  r.message = ReadRequestMsg{0, std::string(key), type};
  const RequestId id = Start(std::move(r), now, timeout);
  if (id != 0) ++metrics_.coordinated_read_count;
  return id;
}

void Coordinator::Complete(RequestId id, Status status) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Completion c{id, std::move(status), std::nullopt, false};
  Pending& r = it->second;
  if (r.is_read && c.status.ok()) {
    host_.CompleteRead(r.key, r.type, std::move(r.tombstone), std::move(r.merged), r.merged_pruning,
                       c);
  }
  completions_.push_back(std::move(c));
  requests_.erase(it);
}

Coordinator::Pending* Coordinator::TakeAnswer(NodeId from, RequestId id, bool is_read,
                                              std::string* dc) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second.is_read != is_read) return nullptr;  // late, not ours
  Pending& r = it->second;
  std::vector<NodeId>& waiting = r.waiting;
  auto peer = std::find(waiting.begin(), waiting.end(), from);
  if (peer != waiting.end()) {
    waiting.erase(peer);
    return &r;
  }
  // Another datacenter's answer, through any node it was asked through, once.
  *dc = host_.DatacenterOfMember(from);
  auto asked = r.dc_asked.find(*dc);
  if (dc->empty() || asked == r.dc_asked.end() || r.dc_answered.count(*dc) != 0 ||
      r.dc_failed.count(*dc) != 0 ||
      std::find(asked->second.begin(), asked->second.end(), from) == asked->second.end()) {
    return nullptr;  // a duplicate, or a node we did not ask
  }
  return &r;
}

void Coordinator::CountAnswer(NodeId from, const std::string& dc, RequestId id, Pending& r, bool ok,
                              std::string error, bool deleted) {
  if (ok && !dc.empty()) {
    r.dc_answered.insert(dc);
  } else if (ok) {
    ++r.answers;
    r.answered.push_back(from);
  } else {
    if (dc.empty()) {
      ++r.failures;
    } else {
      r.dc_failed.insert(dc);
    }
    r.last_error = std::move(error);
    r.last_error_deleted = deleted;
  }
  // Replicas that may still answer: every peer counted in N (known or not yet) but those that
  // failed. The level is out of reach only when they are too few (or too few datacenters are
  // left).
  const size_t others = host_.CoordinationN() - 1;
  const size_t possible = others > r.failures ? others - r.failures : 0;
  const size_t dcs = host_.CoordinationDatacenters().size();
  const size_t dcs_possible = dcs > r.dc_failed.size() ? dcs - r.dc_failed.size() : 0;
  if (r.answers >= r.needed && r.dc_answered.size() >= r.dc_needed) {
    Complete(id, Status::Ok());
  } else if ((r.failures > 0 && possible < r.needed) ||
             (!r.dc_failed.empty() && dcs_possible < r.dc_needed)) {
    std::string message =
        std::string(r.is_read ? "a peer could not answer: " : "a peer rejected the write: ") +
        r.last_error;
    Complete(id, r.last_error_deleted ? Status::KeyDeleted(std::move(message))
                                      : Status::TypeMismatch(std::move(message)));
  }
}

void Coordinator::OnMembershipChange() {
  const std::vector<NodeId>& peers = host_.CoordinationPeers();
  std::vector<RequestId> enough;
  for (auto& [id, r] : requests_) {
    for (NodeId peer : peers) {
      auto at = std::lower_bound(r.asked.begin(), r.asked.end(), peer);
      if (at != r.asked.end() && *at == peer) continue;
      r.asked.insert(at, peer);
      r.waiting.push_back(peer);
      host_.SendTo(peer, r.message);
    }
    // A peer gone from the members (it left or was downed) holds nothing for us any more.
    const size_t before = r.answered.size();
    std::erase_if(r.answered,
                  [&](NodeId p) { return !std::binary_search(peers.begin(), peers.end(), p); });
    r.answers -= before - r.answered.size();
    // The level is of the replicas there are now: a member that joined raises what a Majority
    // needs (or a write and a read made while the cluster grows, each counting the old N, could
    // reach majorities that do not intersect); one that left lowers it.
    r.needed = Needed(r.level);
    r.dc_needed = DatacentersNeeded(r.level);
    AskDatacenters(r, /*again=*/false);  // a datacenter reachable now
    if (r.answers >= r.needed && r.dc_answered.size() >= r.dc_needed) enough.push_back(id);
  }
  for (RequestId id : enough) Complete(id, Status::Ok());
}

void Coordinator::OnWriteAck(NodeId from, const WriteAckMsg& m) {
  std::string dc;
  Pending* r = TakeAnswer(from, m.request_id, /*is_read=*/false, &dc);
  if (r != nullptr) CountAnswer(from, dc, m.request_id, *r, m.error.empty(), m.error, m.deleted);
}

void Coordinator::OnReadReply(NodeId from, ReadReplyMsg& m) {
  std::string dc;
  Pending* r = TakeAnswer(from, m.request_id, /*is_read=*/true, &dc);
  if (r == nullptr) return;
  bool usable = m.error.empty();
  if (usable && m.tombstone && m.tombstone->type == r->type) {
    r->tombstone = std::move(m.tombstone);
  } else if (usable && m.entry) {
    auto v = DecodeAny(m.entry->state);
    if (!v.ok() || v->type() != r->type) {
      ++(v.ok() ? metrics_.entries_mistyped : metrics_.frames_malformed);
      usable = false;
      m.error = "a malformed or mistyped answer";
    } else if (r->merged) {
      JoinWithMarkers(*r->merged, r->merged_pruning, std::move(v).value(), m.entry->pruning);
    } else {
      r->merged = std::move(v).value();
      r->merged_pruning = std::move(m.entry->pruning);
    }
  }
  CountAnswer(from, dc, m.request_id, *r, usable, std::move(m.error));
}

void Coordinator::Expire(TimeMicros now) {
  std::vector<RequestId> expired;
  for (const auto& [id, r] : requests_) {
    if (r.deadline <= now) expired.push_back(id);
  }
  for (RequestId id : expired) {
    const Pending& r = requests_.at(id);
    std::string reached = "reached " + std::to_string(std::min(r.answers, r.needed) + 1) + " of " +
                          std::to_string(r.needed + 1) + " replicas";
    if (r.dc_needed > 0) {
      reached += " here and " + std::to_string(r.dc_answered.size()) + " of " +
                 std::to_string(r.dc_needed) + " other datacenters";
    }
    Complete(id, Status::Timeout(std::string(r.is_read ? "read" : "write") + " of key '" + r.key +
                                 "' " + reached + " in time"));
  }
  for (auto& [id, r] : requests_) {
    if (r.next_resend > now) continue;
    for (NodeId peer : r.waiting) host_.SendTo(peer, r.message);
    AskDatacenters(r, /*again=*/true);
    r.resend_interval *= 2;
    r.next_resend = now + r.resend_interval;
  }
}

TimeMicros Coordinator::NextDeadline() const {
  TimeMicros t = std::numeric_limits<TimeMicros>::max();
  for (const auto& [id, r] : requests_) t = std::min({t, r.deadline, r.next_resend});
  return t;
}

}  // namespace convergent::internal
