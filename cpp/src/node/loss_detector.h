// LossDetector: finds the bus frames lost on their way from each sender. bus0 drops a frame
// silently when a connection's queue is full; every bus frame carries its sender's incarnation
// and a sequence number (1, 2, ... per incarnation, see node.proto), so a number that skips ahead
// reveals the frames in between as lost. A number already seen is a duplicate (two connections
// between the same pair of nodes deliver every frame twice) and is dropped; one below the
// highest seen and not seen yet is late (reordered across connections) and takes back its loss.
// Pure logic: the node feeds it the headers of the frames it receives.
//
// Thread safety: none; the node's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "convergent/replicator.h"

namespace convergent::internal {

// How many bus frames of `sender` (incarnation `incarnation`) a node found lost so far.
struct LossReport {
  NodeId sender = 0;
  uint64_t incarnation = 0;
  uint64_t frames_lost = 0;
};

class LossDetector {
 public:
  enum class Verdict {
    kFresh,      // the next frame, or one after a gap (then lost() grew)
    kLate,       // missing until now: counted lost before, now not
    kDuplicate,  // seen already (or from a previous incarnation): drop it
  };
  // Senders tracked at most (a flood of made-up sender ids cannot grow it further; frames of
  // the senders beyond are delivered untracked).
  static constexpr size_t kMaxSenders = 4096;

  // A frame numbered `seq` of `sender` in its incarnation `incarnation`. `lost_now`: frames
  // found lost by this one (a gap before it). `any_other_life_is_new`: the sender's known life
  // is silent (unreachable), so a lower incarnation is a new life too (one started after its
  // wall clock stepped back), not a delayed frame of an earlier one.
  Verdict OnFrame(NodeId sender, uint64_t incarnation, uint64_t seq, uint64_t* lost_now,
                  bool any_other_life_is_new = false);
  // Forgets a sender (a member that left).
  void Forget(NodeId sender);
  // Whether frames of `sender` in `incarnation` are numbered here already (its known life).
  bool Numbers(NodeId sender, uint64_t incarnation) const {
    auto it = senders_.find(sender);
    return it != senders_.end() && it->second.incarnation == incarnation;
  }
  // For the heartbeats: the senders (current incarnations) with frames lost so far.
  std::vector<LossReport> Reports() const;

  uint64_t total_lost() const { return total_lost_; }
  uint64_t total_duplicates() const { return total_duplicates_; }

 private:
  // Sequence numbers within this distance below the highest seen are remembered (a bitmap), so
  // that late frames and duplicates are told apart; older ones count as duplicates.
  static constexpr uint64_t kWindow = 64;
  struct Sender {
    uint64_t incarnation = 0;
    uint64_t highest = 0;  // the highest sequence number seen
    uint64_t seen = 0;     // bit i: highest - i was seen
    uint64_t lost = 0;
  };
  std::map<NodeId, Sender> senders_;
  uint64_t total_lost_ = 0;
  uint64_t total_duplicates_ = 0;
};

}  // namespace convergent::internal
