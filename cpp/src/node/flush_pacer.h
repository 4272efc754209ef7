// FlushPacer: back-pressure on the bus. NNG's bus drops frames silently when a connection's
// queue is full, so the peers tell: each heartbeat reports how many of our bus frames it found
// lost so far (LossDetector). Congestion is a report whose loss grew by more than
// kNoiseFraction of the frames we sent since that peer's previous report (a rare loss, say a
// receiver descheduled for a few milliseconds, is left to the loss repair: slowing down for it
// would only cost latency), or a broadcast NNG refused. The node then flushes its buffered
// deltas less often, so that its delta batches grow (updates of one key within a flush share
// one key delta) and it sends fewer, larger frames. The flush interval doubles at a congestion
// signal (up to `cap`), at most once per `feedback_delay` (reports describe frames sent before
// the last increase took effect), and shrinks by a quarter (down to `base`) after every
// 2 x feedback_delay without congestion. Pure logic: the node feeds it reports, refusals and
// time, and sets the Replicator's delta flush interval from it.
//
// Thread safety: none; the node's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "convergent/replicator.h"

namespace convergent::internal {

class FlushPacer {
 public:
  // `base`: the configured delta flush interval; `cap`: the longest (at least base);
  // `feedback_delay`: how long the peers take to report (the heartbeat interval).
  FlushPacer(TimeMicros base, TimeMicros cap, TimeMicros feedback_delay);

  // Losses up to this fraction of the frames sent are noise, not congestion.
  static constexpr double kNoiseFraction = 0.02;

  // A peer's heartbeat said it found `frames_lost` of our bus frames (this incarnation) lost so
  // far, when we had sent `frames_sent` bus frames; `reporter_incarnation` tells its lives
  // apart (a restarted peer counts from 0 again). Returns true when the interval changed.
  bool OnLossReport(NodeId reporter, uint64_t reporter_incarnation, uint64_t frames_lost,
                    uint64_t frames_sent, TimeMicros now);
  // NNG refused one of our broadcasts (its queue was full). Returns true when the interval changed.
  bool OnSendRefused(TimeMicros now);
  // Time passes: shrinks the interval after a quiet spell. Returns true when it changed.
  bool Advance(TimeMicros now);
  void Forget(NodeId reporter);

  TimeMicros interval() const { return interval_; }
  uint64_t congestion_signals() const { return signals_; }  // the signals that raised it

 private:
  bool Congested(TimeMicros now);

  TimeMicros base_;
  TimeMicros cap_;
  TimeMicros feedback_delay_;
  TimeMicros interval_;
  TimeMicros last_increase_ = 0;
  TimeMicros quiet_since_ = 0;  // the last congestion signal or decrease
  bool increased_ = false;
  uint64_t signals_ = 0;
  // What a reporter said last.
  struct Reported {
    uint64_t incarnation = 0;
    uint64_t lost = 0;
    uint64_t sent = 0;  // our frames sent then
  };
  std::map<NodeId, Reported> reported_;
};

}  // namespace convergent::internal
