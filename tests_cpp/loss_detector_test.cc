// LossDetector: the gaps, duplicates and late frames in the numbered bus frames of each sender.
#include "node/loss_detector.h"

#include <gtest/gtest.h>

#include <vector>

namespace convergent::internal {
namespace {

using Verdict = LossDetector::Verdict;

TEST(LossDetectorTest, AGapCountsTheFramesInBetweenAsLost) {
  LossDetector d;
  uint64_t lost = 99;
  EXPECT_EQ(d.OnFrame(1, 10, 5, &lost), Verdict::kFresh);  // the first frame heard: no loss
  EXPECT_EQ(lost, 0u);
  // One sent before it, arriving after it: not a loss taken back (none was counted).
  EXPECT_EQ(d.OnFrame(1, 10, 4, &lost), Verdict::kDuplicate);
  EXPECT_EQ(d.OnFrame(1, 10, 6, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(d.OnFrame(1, 10, 9, &lost), Verdict::kFresh);  // 7 and 8 lost
  EXPECT_EQ(lost, 2u);
  EXPECT_EQ(d.OnFrame(2, 20, 1, &lost), Verdict::kFresh);  // senders are apart
  EXPECT_EQ(d.OnFrame(2, 20, 3, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 1u);
  EXPECT_EQ(d.total_lost(), 3u);
  EXPECT_EQ(d.total_duplicates(), 1u);
  const std::vector<LossReport> r = d.Reports();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].sender, 1u);
  EXPECT_EQ(r[0].incarnation, 10u);
  EXPECT_EQ(r[0].frames_lost, 2u);
  EXPECT_EQ(r[1].sender, 2u);
  EXPECT_EQ(r[1].frames_lost, 1u);
}

TEST(LossDetectorTest, DuplicatesAreDroppedAndLateFramesTakeBackTheirLoss) {
  LossDetector d;
  uint64_t lost = 0;
  d.OnFrame(1, 10, 1, &lost);
  EXPECT_EQ(d.OnFrame(1, 10, 1, &lost), Verdict::kDuplicate);  // a second connection's copy
  EXPECT_EQ(d.OnFrame(1, 10, 4, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 2u);
  EXPECT_EQ(d.OnFrame(1, 10, 3, &lost), Verdict::kLate);  // it came the other way, late
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(d.OnFrame(1, 10, 3, &lost), Verdict::kDuplicate);
  EXPECT_EQ(d.OnFrame(1, 10, 4, &lost), Verdict::kDuplicate);
  EXPECT_EQ(d.total_lost(), 1u);  // 2 only
  EXPECT_EQ(d.total_duplicates(), 3u);
  ASSERT_EQ(d.Reports().size(), 1u);
  EXPECT_EQ(d.Reports()[0].frames_lost, 1u);
  // Far behind the highest number seen: too old to tell, taken for a duplicate.
  EXPECT_EQ(d.OnFrame(1, 10, 200, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 195u);
  EXPECT_EQ(d.OnFrame(1, 10, 100, &lost), Verdict::kDuplicate);
  EXPECT_EQ(d.OnFrame(1, 10, 199, &lost), Verdict::kLate);
}

TEST(LossDetectorTest, ANewIncarnationStartsAfreshAndAnOldOnesFramesAreDropped) {
  LossDetector d;
  uint64_t lost = 0;
  d.OnFrame(1, 10, 50, &lost);
  d.OnFrame(1, 10, 52, &lost);
  ASSERT_EQ(d.total_lost(), 1u);
  EXPECT_EQ(d.OnFrame(1, 11, 1, &lost), Verdict::kFresh);  // restarted: numbers from 1
  EXPECT_EQ(lost, 0u);
  EXPECT_TRUE(d.Reports().empty());  // reports are of the current incarnation
  EXPECT_EQ(d.OnFrame(1, 10, 53, &lost), Verdict::kDuplicate);
  EXPECT_EQ(d.OnFrame(1, 11, 2, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 0u);
  d.Forget(1);
  EXPECT_EQ(d.OnFrame(1, 11, 9, &lost), Verdict::kFresh);  // heard again as if new
  EXPECT_EQ(lost, 0u);
}

TEST(LossDetectorTest, MadeUpSendersBeyondTheLimitAreNotTracked) {
  LossDetector d;
  uint64_t lost = 0;
  for (NodeId s = 0; s < LossDetector::kMaxSenders + 10; ++s) d.OnFrame(s, 1, 1, &lost);
  const NodeId beyond = LossDetector::kMaxSenders + 5;
  EXPECT_EQ(d.OnFrame(beyond, 1, 1, &lost), Verdict::kFresh);  // delivered, untracked
  EXPECT_EQ(d.OnFrame(beyond, 1, 9, &lost), Verdict::kFresh);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(d.OnFrame(0, 1, 3, &lost), Verdict::kFresh);  // the tracked ones still are
  EXPECT_EQ(lost, 1u);
}

}  // namespace
}  // namespace convergent::internal

namespace convergent::internal {
namespace {

TEST(LossDetectorTest, ALowerIncarnationIsANewLifeOnlyWhenTheNodeSaysTheOldOneIsSilent) {
  LossDetector d;
  uint64_t lost = 0;
  EXPECT_EQ(d.OnFrame(7, 50, 1, &lost), LossDetector::Verdict::kFresh);
  EXPECT_EQ(d.OnFrame(7, 50, 2, &lost), LossDetector::Verdict::kFresh);
  EXPECT_EQ(d.OnFrame(7, 40, 1, &lost), LossDetector::Verdict::kDuplicate);  // a late old frame
  EXPECT_EQ(d.OnFrame(7, 40, 1, &lost, /*any_other_life_is_new=*/true),
            LossDetector::Verdict::kFresh);
  EXPECT_EQ(d.OnFrame(7, 40, 3, &lost), LossDetector::Verdict::kFresh);
  EXPECT_EQ(lost, 1u);  // its numbering is tracked from its first frame
}

}  // namespace
}  // namespace convergent::internal
