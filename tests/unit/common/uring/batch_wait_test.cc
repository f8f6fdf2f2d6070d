// BatchWait: when a loop's waits hold completions back for a batch. Fixed policy: always (when a
// wait is set); adaptive: only while the last 10 ms window's rate fills a batch within the wait,
// off again below half that rate, never with a zero wait.
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

TEST(BatchWaitTest, AdaptiveStartsOffAndTurnsOnWhenABatchFillsWithinTheWait) {
  BatchWait b(300, 32, /*adaptive=*/true);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 0u);
  int64_t now = kMs;
  // 4 completions per 100 us = 40,000/s: 32 take 800 us > 300 us. Stays off.
  Feed(b, &now, 4, 100'000, 30 * kMs);
  EXPECT_FALSE(b.batching());
  // 16 per 100 us = 160,000/s: 32 in 200 us. On within a window.
  Feed(b, &now, 16, 100'000, 11 * kMs);
  EXPECT_TRUE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 300u);
}

TEST(BatchWaitTest, AdaptiveKeepsBatchingDownToHalfTheRateThenStops) {
  BatchWait b(300, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 16, 100'000, 11 * kMs);
  ASSERT_TRUE(b.batching());
  // 8 per 100 us: a batch in 400 us, more than the wait but within twice it. Stays on.
  Feed(b, &now, 8, 100'000, 30 * kMs);
  EXPECT_TRUE(b.batching());
  // 2 per 100 us: a batch in 1.6 ms. Off after one window.
  Feed(b, &now, 2, 100'000, 21 * kMs);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 0u);
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

TEST(BatchWaitTest, AdaptiveWithNoWaitNeverBatches) {
  BatchWait b(0, 32, true);
  int64_t now = kMs;
  Feed(b, &now, 1000, 100'000, 30 * kMs);
  EXPECT_FALSE(b.batching());
  EXPECT_EQ(b.min_wait_usec(), 0u);
}

}  // namespace
}  // namespace edge::uring
