#include "l7/upstream/passive_health.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(PassiveHealthTest, EjectsAfterConsecutiveFailuresForEjectionTime) {
  PassiveHealth h(3, 30 * kSecond);
  EXPECT_FALSE(h.Record(false, 1 * kSecond));
  EXPECT_FALSE(h.Record(false, 2 * kSecond));
  EXPECT_FALSE(h.ejected(2 * kSecond));
  EXPECT_TRUE(h.Record(false, 3 * kSecond));
  EXPECT_TRUE(h.ejected(3 * kSecond));
  EXPECT_TRUE(h.ejected(33 * kSecond - 1));
  EXPECT_FALSE(h.ejected(33 * kSecond));
  EXPECT_EQ(h.ejections(), 1u);
}

TEST(PassiveHealthTest, ASuccessResetsTheCount) {
  PassiveHealth h(2, kSecond);
  h.Record(false, 0);
  h.Record(true, 0);
  EXPECT_FALSE(h.Record(false, 0));
  EXPECT_EQ(h.consecutive_failures(), 1);
  EXPECT_TRUE(h.Record(false, 0));
}

TEST(PassiveHealthTest, FailuresDuringAnEjectionDoNotExtendIt) {
  PassiveHealth h(1, 10 * kSecond);
  EXPECT_TRUE(h.Record(false, 0));
  EXPECT_FALSE(h.Record(false, 5 * kSecond));
  EXPECT_EQ(h.ejected_until_ns(), 10 * kSecond);
  EXPECT_EQ(h.ejections(), 1u);
}

TEST(PassiveHealthTest, ZeroNeverEjects) {
  PassiveHealth h(0, kSecond);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(h.Record(false, i));
  EXPECT_FALSE(h.ejected(100));
}

TEST(PassiveHealthTest, InheritStateKeepsHistoryNotLimits) {
  PassiveHealth old(1, 100 * kSecond);
  old.Record(false, 0);
  PassiveHealth fresh(5, kSecond);
  fresh.InheritState(old);
  EXPECT_TRUE(fresh.ejected(50 * kSecond));
  EXPECT_EQ(fresh.ejections(), 1u);
  // Its own limit (5) applies to new failures.
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(fresh.Record(false, 200 * kSecond));
  EXPECT_TRUE(fresh.Record(false, 200 * kSecond));
}

}  // namespace
}  // namespace edge::l7
