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

// lb4's back-off (common/health EjectionDurationNs): a server that keeps failing stays out
// longer each time, up to the cap; after a quiet cap it starts again from the base.
TEST(PassiveHealthTest, RepeatedEjectionsDoubleUpToTheCap) {
  PassiveHealth h(1, 1 * kSecond, 4 * kSecond);
  EXPECT_TRUE(h.Record(false, 0));
  EXPECT_EQ(h.last_ejection_ns(), 1 * kSecond);
  EXPECT_TRUE(h.Record(false, 1 * kSecond));  // failed again as soon as it came back
  EXPECT_EQ(h.last_ejection_ns(), 2 * kSecond);
  EXPECT_EQ(h.ejected_until_ns(), 3 * kSecond);
  EXPECT_TRUE(h.Record(false, 3 * kSecond));
  EXPECT_EQ(h.last_ejection_ns(), 4 * kSecond);
  EXPECT_TRUE(h.Record(false, 7 * kSecond));
  EXPECT_EQ(h.last_ejection_ns(), 4 * kSecond);  // the cap
  // Back at 11s; quiet until 15s (the cap after the end): the next ejection is the base again.
  EXPECT_FALSE(h.Record(true, 12 * kSecond));
  EXPECT_TRUE(h.Record(false, 15 * kSecond));
  EXPECT_EQ(h.last_ejection_ns(), 1 * kSecond);
  EXPECT_EQ(h.ejections(), 5u);
}

// The upstream's cap (max_ejection_percent) is asked before each ejection.
class FixedBudget final : public PassiveHealth::Budget {
 public:
  bool MayEject(const PassiveHealth&, int64_t) override {
    ++asked;
    return allow;
  }
  void OnEjected(const PassiveHealth&, int failures, int64_t) override { ejected_after = failures; }
  bool allow = false;
  int asked = 0;
  int ejected_after = 0;
};

TEST(PassiveHealthTest, ARefusedEjectionKeepsTheServerInAndAsksAgainAtTheNextFailure) {
  FixedBudget budget;
  PassiveHealth h(2, kSecond, kSecond);
  h.set_budget(&budget);
  EXPECT_FALSE(h.Record(false, 0));
  EXPECT_FALSE(h.Record(false, 0));
  EXPECT_EQ(budget.asked, 1);
  EXPECT_FALSE(h.ejected(0));
  EXPECT_EQ(h.consecutive_failures(), 2);
  budget.allow = true;
  EXPECT_TRUE(h.Record(false, 0));
  EXPECT_EQ(budget.asked, 2);
  EXPECT_EQ(budget.ejected_after, 3);
  EXPECT_TRUE(h.ejected(0));
}

TEST(PassiveHealthTest, FailuresWhileEjectedAreNotCounted) {
  PassiveHealth h(2, 10 * kSecond);
  h.Record(false, 0);
  EXPECT_TRUE(h.Record(false, 0));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(h.Record(false, 5 * kSecond));
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_FALSE(h.Record(false, 10 * kSecond));  // the first failure after the ejection
  EXPECT_EQ(h.consecutive_failures(), 1);
}

}  // namespace
}  // namespace edge::l7
