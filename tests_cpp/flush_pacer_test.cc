// FlushPacer: the delta flush interval under back-pressure (pure logic, time given by the test).
#include "node/flush_pacer.h"

#include <gtest/gtest.h>

namespace convergent::internal {
namespace {

constexpr TimeMicros kMs = 1000;

TEST(FlushPacerTest, GrowingLossReportsDoubleTheIntervalOncePerFeedbackDelayUpToTheCap) {
  FlushPacer p(10 * kMs, 50 * kMs, 100 * kMs);
  EXPECT_EQ(p.interval(), 10 * kMs);
  EXPECT_FALSE(p.OnLossReport(7, 1, 0, 10, 0));  // nothing lost
  EXPECT_TRUE(p.OnLossReport(7, 1, 3, 20, 1 * kMs));
  EXPECT_EQ(p.interval(), 20 * kMs);
  // More reports of the same episode (another peer, or the same one soon after) wait.
  EXPECT_FALSE(p.OnLossReport(8, 1, 5, 30, 2 * kMs));
  EXPECT_FALSE(p.OnLossReport(7, 1, 4, 40, 50 * kMs));
  EXPECT_EQ(p.interval(), 20 * kMs);
  // The same running total again is not new loss.
  EXPECT_FALSE(p.OnLossReport(7, 1, 4, 50, 200 * kMs));
  EXPECT_TRUE(p.OnLossReport(7, 1, 6, 60, 210 * kMs));
  EXPECT_EQ(p.interval(), 40 * kMs);
  EXPECT_TRUE(p.OnSendRefused(320 * kMs));
  EXPECT_EQ(p.interval(), 50 * kMs);  // the cap
  EXPECT_FALSE(p.OnSendRefused(500 * kMs));
  EXPECT_EQ(p.interval(), 50 * kMs);
  EXPECT_EQ(p.congestion_signals(), 3u);
}

// A rare loss (a receiver descheduled for a moment) is repaired, not a reason to slow down.
TEST(FlushPacerTest, LossesUpToTheNoiseFractionOfTheFramesSentAreNotCongestion) {
  FlushPacer p(10 * kMs, 1000 * kMs, 100 * kMs);
  EXPECT_FALSE(p.OnLossReport(7, 1, 0, 1000, 0));
  EXPECT_FALSE(p.OnLossReport(7, 1, 20, 2000, 200 * kMs));  // 20 of the 1000 since: 2%
  EXPECT_FALSE(p.OnLossReport(8, 1, 20, 2000, 200 * kMs));  // 20 of 2000 (its first report)
  EXPECT_EQ(p.interval(), 10 * kMs);
  EXPECT_TRUE(p.OnLossReport(7, 1, 41, 3000, 400 * kMs));  // 21 of 1000
  EXPECT_EQ(p.interval(), 20 * kMs);
  // Few frames sent: a single loss among them is more than noise.
  EXPECT_TRUE(p.OnLossReport(8, 1, 21, 2010, 600 * kMs));
  EXPECT_EQ(p.interval(), 40 * kMs);
}

TEST(FlushPacerTest, QuietSpellsShrinkTheIntervalGraduallyBackToTheBase) {
  FlushPacer p(10 * kMs, 1000 * kMs, 100 * kMs);
  TimeMicros now = 0;
  for (int i = 0; i < 4; ++i) {
    now += 100 * kMs;
    ASSERT_TRUE(p.OnSendRefused(now));
  }
  ASSERT_EQ(p.interval(), 160 * kMs);
  EXPECT_FALSE(p.Advance(now + 150 * kMs));  // not quiet for long enough yet
  EXPECT_TRUE(p.Advance(now + 200 * kMs));
  EXPECT_EQ(p.interval(), 120 * kMs);  // a quarter less
  EXPECT_FALSE(p.Advance(now + 300 * kMs));
  EXPECT_TRUE(p.Advance(now + 400 * kMs));
  EXPECT_EQ(p.interval(), 90 * kMs);
  now += 400 * kMs;
  for (int i = 0; i < 100; ++i) p.Advance(now += 200 * kMs);
  EXPECT_EQ(p.interval(), 10 * kMs);
  EXPECT_FALSE(p.Advance(now + kMs * 1000));
  // Loss during a quiet spell starts it again.
  EXPECT_TRUE(p.OnSendRefused(now += kMs));
  EXPECT_FALSE(p.Advance(now + 150 * kMs));
}

TEST(FlushPacerTest, AReporterThatRestartsCountsFromZeroAndOldLivesAreIgnored) {
  FlushPacer p(10 * kMs, 1000 * kMs, 100 * kMs);
  EXPECT_TRUE(p.OnLossReport(7, 1, 50, 100, 0));  // 50 of 100
  EXPECT_FALSE(p.OnLossReport(7, 1, 50, 200, 500 * kMs));
  // A new life of the reporter: its count starts from 0 again, so 10 is new loss (of 210).
  EXPECT_TRUE(p.OnLossReport(7, 2, 10, 210, 600 * kMs));
  EXPECT_FALSE(p.OnLossReport(7, 1, 90, 220, 900 * kMs));  // a late heartbeat of the old life
  p.Forget(7);
  // Forgotten: counted from zero, against every frame sent (10 of 1000 is noise) ...
  EXPECT_FALSE(p.OnLossReport(7, 2, 10, 1000, 1200 * kMs));
  // ... then from there (20 of 100 is not).
  EXPECT_TRUE(p.OnLossReport(7, 2, 30, 1100, 1400 * kMs));
  EXPECT_EQ(p.congestion_signals(), 3u);
}

}  // namespace
}  // namespace convergent::internal
