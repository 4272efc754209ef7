#include "replica/fragments.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "replica/frame_codec.h"

namespace convergent::internal {
namespace {

constexpr size_t kPiecesPerRelease = 2;         // per peer and tick
constexpr size_t kPieceOverhead = 128;          // a fragment's own fields, within the frame
constexpr TimeMicros kFirstPause = 1'000;       // after a refusal: 1 ms, doubling
constexpr TimeMicros kLongestPause = 50'000;    // up to 50 ms
constexpr TimeMicros kStaleAfter = 30'000'000;  // a partial frame that has not grown

size_t PieceSize(const ReplicatorOptions& options) {
  return std::max<size_t>(options.max_frame_size - kPieceOverhead, 1);
}

}  // namespace

Fragmenter::Fragmenter(const ReplicatorOptions& options, ReplicatorMetrics& metrics)
    : options_(options), metrics_(metrics) {}

void Fragmenter::Split(NodeId self, ReplicaId replica, NodeId to,
                       std::shared_ptr<const FrameRope> frame) {
  Queue& q = queues_[to];
  // One large frame per peer at a time: anti-entropy, which sends the key again while its last
  // copy is still on its way, would otherwise queue copy after copy of it.
  if (!q.empty() || frame->size() > options_.max_reassembly_bytes) {
    ++metrics_.fragmented_dropped;
    return;
  }
  const size_t piece = PieceSize(options_);
  q.count = static_cast<uint32_t>((frame->size() + piece - 1) / piece);
  q.frame = std::move(frame);
  q.self = self;
  q.replica = replica;
  q.message = next_message_++;
  q.next = 0;
  ++metrics_.frames_fragmented;
}

std::string Fragmenter::Cut(Queue& q) const {
  const size_t piece = PieceSize(options_);
  const FrameRope& frame = *q.frame;
  FragmentMsg m{q.message, q.next, q.count, frame.size(),
                frame.Slice(static_cast<size_t>(q.next) * piece, piece)};
  if (++q.next == q.count) q.frame.reset();  // (the last peer to finish frees it)
  return EncodeFrame(FrameMsg{q.self, std::move(m), q.replica});
}

void Fragmenter::Release(TimeMicros now, std::vector<OutgoingFrame>& out) {
  const int k = static_cast<int>(FrameKind::kFragment);
  for (auto& [to, q] : queues_) {
    if (now < q.paused_until) continue;
    for (size_t n = 0; n < kPiecesPerRelease && !q.empty(); ++n) {
      std::string bytes;
      if (!q.refused.empty()) {
        bytes = std::move(q.refused.front());
        q.refused.pop_front();
      } else {
        bytes = Cut(q);
      }
      metrics_.bytes_sent[k] += bytes.size();
      ++metrics_.frames_sent[k];
      out.push_back(OutgoingFrame{to, FrameKind::kFragment, std::move(bytes)});
    }
    if (q.paused_until != 0 && q.empty()) q.pause = 0;  // the link kept up again
  }
  std::erase_if(queues_, [](const auto& e) { return e.second.empty(); });
}

void Fragmenter::Refused(OutgoingFrame piece, TimeMicros now) {
  if (!piece.to) return;
  Queue& q = queues_[*piece.to];
  q.pause = q.pause == 0 ? kFirstPause : std::min(q.pause * 2, kLongestPause);
  q.paused_until = now + q.pause;
  q.refused.push_front(std::move(piece.bytes));
}

void Fragmenter::KeepOnly(const std::vector<NodeId>& peers) {
  std::erase_if(queues_, [&](const auto& e) {
    return !std::binary_search(peers.begin(), peers.end(), e.first);
  });
}

TimeMicros Fragmenter::NextDeadline() const {
  TimeMicros t = std::numeric_limits<TimeMicros>::max();
  for (const auto& [to, q] : queues_) {
    if (!q.empty()) t = std::min(t, q.paused_until);
  }
  return t;
}

Reassembler::Reassembler(const ReplicatorOptions& options, ReplicatorMetrics& metrics)
    : options_(options), metrics_(metrics) {}

void Reassembler::Drop(std::map<Id, Partial>::iterator it) {
  bytes_ -= it->second.bytes;
  partials_.erase(it);
  ++metrics_.fragmented_dropped;
}

std::optional<std::string> Reassembler::Add(NodeId from, ReplicaId replica, FragmentMsg& piece,
                                            TimeMicros now) {
  if (piece.total_size > options_.max_reassembly_bytes) {
    ++metrics_.fragmented_dropped;  // larger than this replica takes
    return std::nullopt;
  }
  // Pieces are at least 896 bytes (max_frame_size >= 1024, less a fragment's fields), but the
  // last: a count beyond that is not a sender's, and would only make this replica allocate.
  if (piece.count > piece.total_size / 512 + 1) {
    ++metrics_.frames_malformed;
    return std::nullopt;
  }
  const Id id{from, replica.value, piece.message_id};
  auto it = partials_.find(id);
  if (it == partials_.end()) {
    Partial p;
    p.count = piece.count;
    p.total = piece.total_size;
    p.pieces.resize(piece.count);
    p.started = now;
    it = partials_.emplace(id, std::move(p)).first;
  }
  Partial& p = it->second;
  if (p.count != piece.count || p.total != piece.total_size) {
    ++metrics_.frames_malformed;  // pieces that disagree: the frame is lost
    Drop(it);
    return std::nullopt;
  }
  p.touched = now;
  if (!p.pieces[piece.index].empty()) return std::nullopt;  // a duplicate
  if (p.bytes + piece.payload.size() > p.total) {
    ++metrics_.frames_malformed;
    Drop(it);
    return std::nullopt;
  }
  // Room for it: the oldest other partial frames go first.
  while (bytes_ + piece.payload.size() > options_.max_reassembly_bytes) {
    auto oldest = partials_.end();
    for (auto o = partials_.begin(); o != partials_.end(); ++o) {
      if (o != it && (oldest == partials_.end() || o->second.started < oldest->second.started)) {
        oldest = o;
      }
    }
    if (oldest == partials_.end()) {
      Drop(it);
      return std::nullopt;
    }
    Drop(oldest);
  }
  p.bytes += piece.payload.size();
  bytes_ += piece.payload.size();
  p.pieces[piece.index] = std::move(piece.payload);
  if (++p.received < p.count) return std::nullopt;
  if (p.bytes != p.total) {
    ++metrics_.frames_malformed;
    Drop(it);
    return std::nullopt;
  }
  std::string whole;
  whole.reserve(p.total);
  for (std::string& s : p.pieces) {
    whole += s;
    std::string().swap(s);
  }
  bytes_ -= p.bytes;
  partials_.erase(it);
  return whole;
}

void Reassembler::Expire(TimeMicros now) {
  for (auto it = partials_.begin(); it != partials_.end();) {
    if (now - it->second.touched > kStaleAfter) {
      Drop(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace convergent::internal
