// BatchWait: when a loop's waits hold completions back for a batch. Fixed policy: always (when a
// wait is set); adaptive: the whole wait only while the last 10 ms window's rate brings half a
// batch within it, back to the short wait below half that rate; never with a zero wait.
#include "common/uring/batch_wait.h"

#include <gtest/gtest.h>

namespace edge::uring {
namespace {

constexpr int64_t kMs = 1'000'000;

// Passes of `per_pass` completions every `gap_ns` for `duration_ns`, starting at *now.
void Feed(BatchWait& b, int64_t* now, unsigned per_pass, int64_t gap_ns, int64_t duration_ns) {
  for (const int64_t end = *now + duration_ns; *now < end;) {
    *now += gap_ns;
    b.OnPass(per_pass, *now);
  }
}

TEST(BatchWaitTest, FixedPolicyAlwaysBatchesWhenAWaitIsSet) {
  BatchWait on(20, 32, /*adaptive=*/false);
  EXPECT_EQ(on.min_wait_usec(), 20u);
  int64_t now = kMs;
  Feed(on, &now, 1, kMs, 50 * kMs);  // slow traffic changes nothing
  EXPECT_EQ(on.min_wait_usec(), 20u);
  BatchWait off(0, 32, false);
  EXPECT_EQ(off.min_wait_usec(), 0u);
}

TEST(BatchWaitTest, AdaptiveStartsShortAndTurnsOnWhenHalfABatchComesWithinTheWait) {
  BatchWait b(300, 32, /*adaptive=*/true);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 20u);  // the short wait of light traffic
  int64_t now = kMs;
  // 4 completions per 100 us = 40,000/s: 12 within 300 us, less than half a batch. Stays off.
  Feed(b, &now, 4, 100'000, 30 * kMs);
  EXPECT_FALSE(b.batching());
  // 16 per 100 us = 160,000/s: 48 within the wait. On within a window.
  Feed(b, &now, 16, 100'000, 11 * kMs);
  EXPECT_TRUE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 300u);
}

TEST(BatchWaitTest, AdaptiveKeepsBatchingDownToHalfTheRateThenStops) {
  BatchWait b(300, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 16, 100'000, 11 * kMs);
  ASSERT_TRUE(b.batching());
  // 4 per 100 us: 12 within the wait, under half a batch (16) but over a quarter. Stays on.
  Feed(b, &now, 4, 100'000, 30 * kMs);
  EXPECT_TRUE(b.batching());
  // 2 per 100 us: 6 within the wait. Off after one window: the short wait again.
  Feed(b, &now, 2, 100'000, 21 * kMs);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 20u);
}

TEST(BatchWaitTest, AnIdleGapEndsBatching) {
  BatchWait b(300, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 16, 100'000, 11 * kMs);
  ASSERT_TRUE(b.batching());
  now += 5'000 * kMs;  // five idle seconds, then one completion
  b.OnPass(1, now);
  EXPECT_FALSE(b.batching());
}

TEST(BatchWaitTest, ABulkFlowKeepsWaitsShortUntilTheLastOneEnds) {
  BatchWait b(300, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 16, 100'000, 11 * kMs);
  ASSERT_EQ(b.min_wait_usec(), 300u);
  b.HoldShortWaits(1);
  b.HoldShortWaits(1);
  EXPECT_EQ(b.min_wait_usec(), 20u);
  Feed(b, &now, 16, 100'000, 11 * kMs);  // busy as before: still short
  EXPECT_TRUE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 20u);
  b.HoldShortWaits(-1);
  EXPECT_EQ(b.min_wait_usec(), 20u);
  b.HoldShortWaits(-1);
  EXPECT_EQ(b.min_wait_usec(), 300u);
  // A fixed short wait is what a hold asks for anyway.
  BatchWait fixed(20, 32, false);
  fixed.HoldShortWaits(1);
  EXPECT_EQ(fixed.min_wait_usec(), 20u);
}

TEST(BatchWaitTest, AShortMaximumIsAlsoTheLightWait) {
  BatchWait b(5, 32, true);
  EXPECT_EQ(b.min_wait_usec(), 5u);
}

TEST(BatchWaitTest, AdaptiveWithNoWaitNeverBatches) {
  BatchWait b(0, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 1000, 100'000, 30 * kMs);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 0u);
}

}  // namespace
}  // namespace edge::uring
