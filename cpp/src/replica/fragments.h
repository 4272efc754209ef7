// Fragments: a frame larger than max_frame_size (one key whose state alone is larger: a full
// state, an anti-entropy repair, a read reply) is cut into pieces of at most max_frame_size, each a
// frame of its own (FragmentMsg), and joined again by the receiver before it is read.
//
// - Fragmenter (sending side): a large frame waits in a queue per peer (a broadcast is one frame
//   that every peer's queue shares) and leaves a few pieces per tick, each cut from it as it
//   goes, so that a frame on its way costs its own size once, not once per peer and again in
//   pieces. A piece the transport refuses (its queue is full) goes back to the front of its queue
//   and that peer pauses, 1 ms doubling to 50 ms: the transfer goes at the pace the link takes.
//   A peer is sent one large frame at a time, of at most max_reassembly_bytes: another one
//   meanwhile is dropped (counted; anti-entropy sends it again later).
// - Reassembler (receiving side): pieces may arrive in any order and twice; a frame is whole when
//   every piece arrived. Partial frames hold at most max_reassembly_bytes in all (the oldest goes
//   first), and one that has not grown for 30 s is dropped. Drops are counted: a lost piece loses
//   its frame, which anti-entropy repairs.
//
// Thread safety: none; owned by one Replicator::Impl.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "convergent/replicator.h"
#include "replica/frame_rope.h"
#include "replica/messages.h"

namespace convergent::internal {

class Fragmenter {
 public:
  Fragmenter(const ReplicatorOptions& options, ReplicatorMetrics& metrics);

  // Queues an encoded frame for `to`, to leave in pieces (several peers may share one frame).
  void Split(NodeId self, ReplicaId replica, NodeId to, std::shared_ptr<const FrameRope> frame);
  // Moves the pieces due to the outgoing frames.
  void Release(TimeMicros now, std::vector<OutgoingFrame>& out);
  // A piece the transport refused: first again, after a pause of its peer.
  void Refused(OutgoingFrame piece, TimeMicros now);
  // Drops the queues of peers no longer among `peers` (sorted).
  void KeepOnly(const std::vector<NodeId>& peers);
  TimeMicros NextDeadline() const;  // max(): nothing queued

 private:
  struct Queue {
    std::shared_ptr<const FrameRope> frame;  // on its way (null: done)
    NodeId self = 0;                         // its sender
    ReplicaId replica;
    uint64_t message = 0;
    uint32_t next = 0;  // the next piece to cut
    uint32_t count = 0;
    std::deque<std::string> refused;  // pieces the transport refused: first again
    TimeMicros paused_until = 0;
    TimeMicros pause = 0;  // the next pause after a refusal
    bool empty() const { return frame == nullptr && refused.empty(); }
  };
  // The next piece of q's frame, encoded.
  std::string Cut(Queue& q) const;
  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::map<NodeId, Queue> queues_;
  uint64_t next_message_ = 1;
};

class Reassembler {
 public:
  Reassembler(const ReplicatorOptions& options, ReplicatorMetrics& metrics);

  // A piece from `from` (incarnation `replica`): the whole encoded frame once every piece
  // arrived, else nullopt.
  std::optional<std::string> Add(NodeId from, ReplicaId replica, FragmentMsg& piece,
                                 TimeMicros now);
  // Drops partial frames that have not grown for 30 s.
  void Expire(TimeMicros now);
  size_t held_bytes() const { return bytes_; }

 private:
  using Id = std::tuple<NodeId, uint64_t, uint64_t>;  // from, its replica, message
  struct Partial {
    uint32_t count = 0;
    uint64_t total = 0;
    uint32_t received = 0;
    size_t bytes = 0;
    std::vector<std::string> pieces;
    TimeMicros started = 0;
    TimeMicros touched = 0;
  };
  void Drop(std::map<Id, Partial>::iterator it);

  const ReplicatorOptions& options_;
  ReplicatorMetrics& metrics_;
  std::map<Id, Partial> partials_;
  size_t bytes_ = 0;
};

}  // namespace convergent::internal
