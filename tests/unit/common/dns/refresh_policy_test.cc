#include "common/dns/refresh_policy.h"

#include <gtest/gtest.h>

namespace edge::dns {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(RefreshDelay, FollowsTheTtlBetweenFloorAndCeiling) {
  RefreshBounds b{absl::Seconds(1), absl::Seconds(60)};
  EXPECT_EQ(RefreshDelayNs(30, b), 30 * kSecond);
  EXPECT_EQ(RefreshDelayNs(0, b), 1 * kSecond);  // TTL 0 is not a query storm
  EXPECT_EQ(RefreshDelayNs(86400, b), 60 * kSecond);
  EXPECT_EQ(RefreshDelayNs(UINT32_MAX, b), 60 * kSecond);
}

TEST(RetryDelay, DoublesFromTheFloorUpToTheCeiling) {
  RefreshBounds b{absl::Milliseconds(500), absl::Seconds(5)};
  EXPECT_EQ(RetryDelayNs(1, b), kSecond / 2);
  EXPECT_EQ(RetryDelayNs(2, b), kSecond);
  EXPECT_EQ(RetryDelayNs(3, b), 2 * kSecond);
  EXPECT_EQ(RetryDelayNs(4, b), 4 * kSecond);
  EXPECT_EQ(RetryDelayNs(5, b), 5 * kSecond);
  EXPECT_EQ(RetryDelayNs(1000, b), 5 * kSecond);
}

TEST(RefreshBoundsEqual, FloorEqualsCeiling) {
  RefreshBounds b{absl::Seconds(2), absl::Seconds(2)};
  EXPECT_EQ(RefreshDelayNs(1, b), 2 * kSecond);
  EXPECT_EQ(RetryDelayNs(3, b), 2 * kSecond);
}

}  // namespace
}  // namespace edge::dns
