#include "node/flush_pacer.h"

#include <algorithm>

namespace convergent::internal {

FlushPacer::FlushPacer(TimeMicros base, TimeMicros cap, TimeMicros feedback_delay)
    : base_(std::max<TimeMicros>(base, 1)),
      cap_(std::max(cap, base_)),
      feedback_delay_(std::max<TimeMicros>(feedback_delay, 1)),
      interval_(base_) {}

bool FlushPacer::OnLossReport(NodeId reporter, uint64_t reporter_incarnation, uint64_t frames_lost,
                              uint64_t frames_sent, TimeMicros now) {
  auto [it, added] = reported_.try_emplace(reporter, Reported{reporter_incarnation, 0, 0});
  Reported& r = it->second;
  if (reporter_incarnation < r.incarnation) return false;  // an older life's heartbeat, late
  if (reporter_incarnation > r.incarnation) r = Reported{reporter_incarnation, 0, 0};
  const uint64_t lost = frames_lost > r.lost ? frames_lost - r.lost : 0;
  const uint64_t sent = frames_sent > r.sent ? frames_sent - r.sent : 0;
  r.lost = frames_lost;  // lower than before when late frames were taken back
  r.sent = frames_sent;
  if (lost == 0 || static_cast<double>(lost) <= kNoiseFraction * static_cast<double>(sent)) {
    return false;
  }
  return Congested(now);
}

bool FlushPacer::OnSendRefused(TimeMicros now) { return Congested(now); }

bool FlushPacer::Congested(TimeMicros now) {
  quiet_since_ = now;
  if (increased_ && now - last_increase_ < feedback_delay_) return false;
  if (interval_ >= cap_) return false;
  ++signals_;
  interval_ = std::min(cap_, interval_ * 2);
  last_increase_ = now;
  increased_ = true;
  return true;
}

bool FlushPacer::Advance(TimeMicros now) {
  if (interval_ <= base_ || now - quiet_since_ < 2 * feedback_delay_) return false;
  interval_ = std::max(base_, interval_ - std::max<TimeMicros>(1, interval_ / 4));
  quiet_since_ = now;
  return true;
}

void FlushPacer::Forget(NodeId reporter) { reported_.erase(reporter); }

}  // namespace convergent::internal
