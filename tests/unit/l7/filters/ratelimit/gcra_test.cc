// GCRA arithmetic and the local store: limits held exactly, burst, refill, headers' numbers, idle
// expiry, and the memory bound under 100,000 distinct keys.

#include "l7/filters/ratelimit/gcra.h"

#include <gtest/gtest.h>

#include <string>

#include "l7/filters/ratelimit/local_rate_store.h"

namespace edge::l7 {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1000 * kSecond;

TEST(GcraTest, PolicyArithmetic) {
  GcraPolicy p = GcraPolicy::Make(100, absl::Minutes(1), 20);
  EXPECT_EQ(p.emission_ns, 600'000'000);
  EXPECT_EQ(p.capacity, 120);
  EXPECT_EQ(p.window_ns, 120 * 600'000'000LL);
  GcraPolicy huge = GcraPolicy::Make(1'000'000'000, absl::Hours(24), 1'000'000'000);
  EXPECT_GT(huge.window_ns, 0);
  GcraPolicy fast = GcraPolicy::Make(1'000'000'000, absl::Milliseconds(1), 0);
  EXPECT_EQ(fast.emission_ns, 1);  // never zero
}

TEST(GcraTest, CapacityThenSustainedRate) {
  GcraPolicy p = GcraPolicy::Make(10, absl::Seconds(10), 5);  // one per second, 15 at once
  int64_t tat = 0;
  for (int i = 0; i < 15; ++i) {
    GcraDecision d = GcraCheck(p, tat, kStart);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 14 - i);
    tat = d.tat_ns;
  }
  GcraDecision refused = GcraCheck(p, tat, kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_ns, kSecond);
  EXPECT_EQ(refused.reset_ns, 15 * kSecond);
  EXPECT_EQ(refused.tat_ns, tat);  // refusals do not consume
  // Just before one emission interval: still refused; at it: one more.
  EXPECT_FALSE(GcraCheck(p, tat, kStart + kSecond - 1).allowed);
  GcraDecision later = GcraCheck(p, tat, kStart + kSecond);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 0);
  // After a long idle period the bucket is full again, not fuller.
  GcraDecision idle = GcraCheck(p, later.tat_ns, kStart + 3600 * kSecond);
  EXPECT_TRUE(idle.allowed);
  EXPECT_EQ(idle.remaining, 14);
}

TEST(GcraTest, OverAMinuteLetsThroughCapacityPlusRate) {
  GcraPolicy p = GcraPolicy::Make(100, absl::Minutes(1), 20);
  int64_t tat = 0;
  int allowed = 0;
  // 10 requests per second for 60 s.
  for (int64_t t = 0; t < 60 * kSecond; t += kSecond / 10) {
    GcraDecision d = GcraCheck(p, tat, kStart + t);
    if (d.allowed) {
      ++allowed;
      tat = d.tat_ns;
    }
  }
  // 120 at once, then one per 0.6 s over the remaining time.
  EXPECT_GE(allowed, 120 + 80);
  EXPECT_LE(allowed, 120 + 100);
}

TEST(LocalRateStoreTest, KeysAreIndependentAndExact) {
  LocalRateStore store(GcraPolicy::Make(3, absl::Minutes(1), 0), 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(store.Check("a", kStart).allowed);
  EXPECT_FALSE(store.Check("a", kStart).allowed);
  EXPECT_TRUE(store.Check("b", kStart).allowed);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_TRUE(store.Check("a", kStart + 20 * kSecond).allowed);
}

TEST(LocalRateStoreTest, IdleKeysExpire) {
  LocalRateStore store(GcraPolicy::Make(10, absl::Seconds(1), 0), 1000);
  for (int i = 0; i < 100; ++i) store.Check("k" + std::to_string(i), kStart);
  EXPECT_EQ(store.size(), 100u);
  // Each check removes up to two expired keys from the cold end: 60 checks on one hot key after
  // every bucket refilled clear all 100.
  for (int i = 0; i < 60; ++i) store.Check("hot", kStart + 10 * kSecond + i);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.expirations(), 100u);
  EXPECT_EQ(store.evictions(), 0u);
}

TEST(LocalRateStoreTest, HundredThousandKeysKeepTheLimitAndTheMemoryBound) {
  constexpr size_t kMaxKeys = 10000;
  // 100 per hour: over the test's 10 simulated seconds no bucket refills, so every key dropped
  // is a forced eviction and the hot key's count is exact.
  LocalRateStore store(GcraPolicy::Make(100, absl::Hours(1), 0), kMaxKeys);
  int hot_allowed = 0;
  size_t peak_bytes = 0;
  for (int i = 0; i < 100000; ++i) {
    const int64_t now = kStart + i * 100'000LL;  // 100 us apart
    ASSERT_TRUE(
        store.Check("client-" + std::to_string(i) + "-with-a-longer-key-name", now).allowed);
    // The attacker's key is hammered while 100,000 distinct keys churn through.
    if (store.Check("hot", now).allowed) ++hot_allowed;
    ASSERT_LE(store.size(), kMaxKeys);
    if (i % 1000 == 0) peak_bytes = std::max(peak_bytes, store.MemoryBytes());
  }
  EXPECT_EQ(hot_allowed, 100);  // the limit held: the hot key, always recent, was never evicted
  EXPECT_EQ(store.size(), kMaxKeys);
  EXPECT_EQ(store.evictions(), 100000u + 1 - kMaxKeys);
  EXPECT_EQ(store.expirations(), 0u);
  // About 150 bytes per key; what matters is that it does not grow with the number of keys seen.
  EXPECT_LT(peak_bytes, kMaxKeys * 400);
  EXPECT_LT(store.MemoryBytes(), kMaxKeys * 400);
  // Once idle, the keys expire on their own as traffic continues.
  const int64_t later = kStart + 2 * 3600 * 1'000'000'000LL;
  for (int i = 0; i < 6000; ++i) store.Check("hot", later + i);
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace edge::l7
