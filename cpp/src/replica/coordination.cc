// Coordinated writes and reads (Majority / All): the request goes to every peer of the role and
// completes when enough peers have applied it (writes) or answered (reads), self counted:
// Majority is floor(N/2)+1 of the N replicas. Not reaching the level in time completes the
// request with a timeout; a write is applied locally either way and replicates as usual.
#include <algorithm>
#include <string>
#include <utility>

#include "convergent/codec.h"
#include "replica/replicator_impl.h"

namespace convergent {

using internal::KeyedState;
using internal::ReadReplyMsg;
using internal::ReadRequestMsg;
using internal::WriteAckMsg;
using internal::WriteRequestMsg;

size_t Replicator::Impl::Needed(Consistency level) const {
  const size_t n = std::max(replica_count, peers.size() + 1);
  switch (level.kind()) {
    case Consistency::Kind::kLocal:
      return 0;
    case Consistency::Kind::kMajority:
      return n / 2;  // floor(N/2) + 1 replicas, minus self
    case Consistency::Kind::kAll:
      return n - 1;
    case Consistency::Kind::kCount:
      return level.count() > 0 ? level.count() - 1 : 0;
  }
  return 0;
}

void Replicator::Impl::Complete(RequestId id, Status status) {
  auto it = requests.find(id);
  if (it == requests.end()) return;
  Completion c{id, std::move(status), std::nullopt, false};
  PendingRequest& r = it->second;
  if (r.is_read && c.status.ok()) {
    if (r.tombstone) {
      ApplyTombstone(*r.tombstone, /*publish=*/false);
    } else if (r.merged) {
      // Write back what the peers know, so this replica now holds the merged value.
      MergeValue(r.key, std::move(*r.merged));
    }
    c.deleted = tombstones.count(r.key) != 0;
    if (auto k = keys.find(r.key); !c.deleted && k != keys.end() && k->second.type == r.type) {
      c.value = k->second.value;
    }
  }
  completions.push_back(std::move(c));
  requests.erase(it);
}

RequestId Replicator::Impl::StartWrite(WriteRequestMsg msg, Consistency level, TimeMicros now,
                                       std::optional<double> timeout) {
  const size_t needed = Needed(level);
  if (needed == 0) return 0;
  const RequestId id = next_request++;
  ++metrics.coordinated_write_count;
  PendingRequest r;
  r.key = msg.entry ? msg.entry->key : msg.tombstone->key;
  r.level = level;
  r.needed = needed;
  r.waiting = peers;
  r.asked = peers;
  r.deadline = now + Micros(timeout.value_or(options.coordination_timeout));
  msg.request_id = id;
  r.resend_interval = Micros(options.coordination_resend_interval);
  r.next_resend = now + r.resend_interval;
  r.message = msg;
  requests.emplace(id, std::move(r));
  for (NodeId peer : peers) Send(peer, msg);
  return id;
}

RequestId Replicator::Impl::StartRead(std::string_view key, CrdtType type, Consistency level,
                                      TimeMicros now, std::optional<double> timeout) {
  const size_t needed = Needed(level);
  if (needed == 0) return 0;
  const RequestId id = next_request++;
  ++metrics.coordinated_read_count;
  PendingRequest r;
  r.is_read = true;
  r.level = level;
  r.key = std::string(key);
  r.type = type;
  r.needed = needed;
  r.waiting = peers;
  r.asked = peers;
  r.deadline = now + Micros(timeout.value_or(options.coordination_timeout));
  r.resend_interval = Micros(options.coordination_resend_interval);
  r.next_resend = now + r.resend_interval;
  r.message = ReadRequestMsg{id, std::string(key), type};
  requests.emplace(id, std::move(r));
  for (NodeId peer : peers) Send(peer, ReadRequestMsg{id, std::string(key), type});
  return id;
}

void Replicator::Impl::OnWrite(NodeId from, WriteRequestMsg& m, TimeMicros now) {
  std::string error;
  bool deleted = false;
  if (m.entry) {
    if (tombstones.count(m.entry->key)) {
      error = "key '" + m.entry->key + "' is deleted";
      deleted = true;
    } else if (!MergeRemote(*m.entry, now)) {
      error = "key '" + m.entry->key + "' has another type here, or the delta is malformed";
    }
  } else if (!ApplyTombstone(*m.tombstone, /*publish=*/false)) {
    error = "key '" + m.tombstone->key + "' has another type here";
  }
  Send(from, WriteAckMsg{m.request_id, std::move(error), deleted});
}

PendingRequest* Replicator::Impl::TakeAnswer(NodeId from, RequestId id, bool is_read) {
  auto it = requests.find(id);
  if (it == requests.end() || it->second.is_read != is_read) return nullptr;  // late, not ours
  std::vector<NodeId>& waiting = it->second.waiting;
  auto peer = std::find(waiting.begin(), waiting.end(), from);
  if (peer == waiting.end()) return nullptr;  // a duplicate, or a node we did not ask
  waiting.erase(peer);
  return &it->second;
}

void Replicator::Impl::CountAnswer(NodeId from, RequestId id, PendingRequest& r, bool ok,
                                   std::string error, bool deleted) {
  if (ok) {
    ++r.answers;
    r.answered.push_back(from);
  } else {
    ++r.failures;
    r.last_error = std::move(error);
    r.last_error_deleted = deleted;
  }
  // Replicas that may still answer: every peer counted in N (known or not yet) but those that
  // failed. The level is out of reach only when they are too few.
  const size_t others = std::max(replica_count, peers.size() + 1) - 1;
  const size_t possible = others > r.failures ? others - r.failures : 0;
  if (r.answers >= r.needed) {
    Complete(id, Status::Ok());
  } else if (r.failures > 0 && possible < r.needed) {
    std::string message =
        std::string(r.is_read ? "a peer could not answer: " : "a peer rejected the write: ") +
        r.last_error;
    Complete(id, r.last_error_deleted ? Status::KeyDeleted(std::move(message))
                                      : Status::TypeMismatch(std::move(message)));
  }
}

void Replicator::Impl::OnMembershipChange() {
  std::vector<RequestId> enough;
  for (auto& [id, r] : requests) {
    for (NodeId peer : peers) {
      auto at = std::lower_bound(r.asked.begin(), r.asked.end(), peer);
      if (at != r.asked.end() && *at == peer) continue;
      r.asked.insert(at, peer);
      r.waiting.push_back(peer);
      Send(peer, r.message);
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
    if (r.answers >= r.needed) enough.push_back(id);
  }
  for (RequestId id : enough) Complete(id, Status::Ok());
}

void Replicator::Impl::OnWriteAck(NodeId from, const WriteAckMsg& m) {
  PendingRequest* r = TakeAnswer(from, m.request_id, /*is_read=*/false);
  if (r != nullptr) CountAnswer(from, m.request_id, *r, m.error.empty(), m.error, m.deleted);
}

void Replicator::Impl::OnRead(NodeId from, const ReadRequestMsg& m) {
  ReadReplyMsg reply;
  reply.request_id = m.request_id;
  if (auto t = tombstones.find(m.key); t != tombstones.end()) {
    reply.tombstone =
        internal::Tombstone{m.key, t->second.type, static_cast<uint64_t>(t->second.deleted_at)};
  } else if (auto k = keys.find(m.key); k != keys.end()) {
    if (k->second.type != m.type) {
      reply.error = "key '" + m.key + "' holds " + CrdtTypeWithArticle(k->second.type) + " here";
    } else {
      reply.entry = KeyedState{m.key, EncodeAny(k->second.value), true};
    }
  }
  Send(from, std::move(reply));
}

void Replicator::Impl::OnReadReply(NodeId from, ReadReplyMsg& m, TimeMicros) {
  PendingRequest* r = TakeAnswer(from, m.request_id, /*is_read=*/true);
  if (r == nullptr) return;
  bool usable = m.error.empty();
  if (usable && m.tombstone && m.tombstone->type == r->type) {
    r->tombstone = std::move(m.tombstone);
  } else if (usable && m.entry) {
    auto v = DecodeAny(m.entry->state);
    if (!v.ok() || v->type() != r->type) {
      ++(v.ok() ? metrics.entries_mistyped : metrics.frames_malformed);
      usable = false;
      m.error = "a malformed or mistyped answer";
    } else if (r->merged) {
      r->merged->Join(*v);
    } else {
      r->merged = std::move(v).value();
    }
  }
  CountAnswer(from, m.request_id, *r, usable, std::move(m.error));
}

void Replicator::Impl::ExpireRequests(TimeMicros now) {
  std::vector<RequestId> expired;
  for (const auto& [id, r] : requests) {
    if (r.deadline <= now) expired.push_back(id);
  }
  for (RequestId id : expired) {
    const PendingRequest& r = requests.at(id);
    Complete(id, Status::Timeout(std::string(r.is_read ? "read" : "write") + " of key '" + r.key +
                                 "' reached " + std::to_string(r.answers + 1) + " of " +
                                 std::to_string(r.needed + 1) + " replicas in time"));
  }
  for (auto& [id, r] : requests) {
    if (r.next_resend > now) continue;
    for (NodeId peer : r.waiting) Send(peer, r.message);
    r.resend_interval *= 2;
    r.next_resend = now + r.resend_interval;
  }
}

}  // namespace convergent
