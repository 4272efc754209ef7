#include "node/loss_detector.h"

namespace convergent::internal {

LossDetector::Verdict LossDetector::OnFrame(NodeId sender, uint64_t incarnation, uint64_t seq,
                                            uint64_t* lost_now, bool any_other_life_is_new) {
  *lost_now = 0;
  auto it = senders_.find(sender);
  const bool added = it == senders_.end();
  if (added) {
    if (senders_.size() >= kMaxSenders) return Verdict::kFresh;
    it = senders_.emplace(sender, Sender{}).first;
  }
  Sender& s = it->second;
  if (!added && incarnation < s.incarnation && !any_other_life_is_new) {
    ++total_duplicates_;  // a frame of a previous life, delayed
    return Verdict::kDuplicate;
  }
  if (added || incarnation != s.incarnation) {
    // A new sender or a new life: its numbering starts here (frames sent before this node was
    // connected were never meant for it; one of them arriving late is no loss taken back).
    s = Sender{incarnation, seq, ~uint64_t{0}, 0};
    return Verdict::kFresh;
  }
  if (seq > s.highest) {
    const uint64_t gap = seq - s.highest - 1;
    s.seen = gap + 1 >= kWindow ? 1 : (s.seen << (gap + 1)) | 1;
    s.highest = seq;
    s.lost += gap;
    total_lost_ += gap;
    *lost_now = gap;
    return Verdict::kFresh;
  }
  const uint64_t back = s.highest - seq;
  if (back >= kWindow || (s.seen >> back & 1) != 0) {
    ++total_duplicates_;
    return Verdict::kDuplicate;
  }
  s.seen |= uint64_t{1} << back;  // it was counted lost when a later one came first
  if (s.lost > 0) --s.lost;
  if (total_lost_ > 0) --total_lost_;
  return Verdict::kLate;
}

void LossDetector::Forget(NodeId sender) { senders_.erase(sender); }

std::vector<LossReport> LossDetector::Reports() const {
  std::vector<LossReport> out;
  for (const auto& [id, s] : senders_) {
    if (s.lost > 0) out.push_back(LossReport{id, s.incarnation, s.lost});
  }
  return out;
}

}  // namespace convergent::internal
