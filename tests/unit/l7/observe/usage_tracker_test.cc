#include "l7/observe/usage_tracker.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l7/observe/latency_sketch.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'796'230'960 * kSecond;  // a slot boundary (divisible by 10 s)

double ExactQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

TEST(LatencySketchTest, QuantilesAreWithinTheRelativeAccuracy) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(7.0, 1.5);  // ~1 ms median, long tail
  LatencySketch sketch;
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i) {
    const double v = dist(rng);
    values.push_back(v);
    sketch.Add(v);
  }
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    const double exact = ExactQuantile(values, q);
    EXPECT_NEAR(sketch.Quantile(q), exact, exact * 0.021) << q;
  }
  EXPECT_EQ(sketch.count(), 20000u);
  EXPECT_LT(sketch.buckets(), 400u);
}

TEST(LatencySketchTest, MergingEqualsOneSketchOfEverything) {
  LatencySketch a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).Add(i * 7.0);
    all.Add(i * 7.0);
  }
  b.Add(5e6);
  all.Add(5e6);
  a.Merge(b);
  for (double q : {0.0, 0.25, 0.5, 0.99, 1.0}) EXPECT_EQ(a.Quantile(q), all.Quantile(q)) << q;
  EXPECT_EQ(a.count(), all.count());
}

TEST(LatencySketchTest, EdgesAreBounded) {
  LatencySketch s;
  EXPECT_EQ(s.Quantile(0.5), 0);
  s.Add(0);
  s.Add(-5);
  s.Add(std::nan(""));
  s.Add(1e300);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_EQ(s.Quantile(0), 1.0);
  EXPECT_LE(s.buckets(), static_cast<size_t>(LatencySketch::kMaxIndex + 1));
}

AccessRecord Req(std::string_view route, std::string_view consumer, int status,
                 int64_t duration_us = 1000) {
  AccessRecord r;
  r.route = route;
  r.consumer = consumer;
  r.status = status;
  r.bytes_in = 100;
  r.bytes_out = 1000;
  r.duration_ns = duration_us * 1000;
  return r;
}

TEST(UsageTrackerTest, CountsPerRouteAndConsumer) {
  UsageTracker u;
  for (int i = 0; i < 10; ++i) u.Record(Req("products", "alice", 200), kT0 + i * kSecond);
  u.Record(Req("products", "bob", 503), kT0);
  AccessRecord limited = Req("orders", "bob", 429);
  limited.rate_limit = "limited";
  u.Record(limited, kT0);
  AccessRecord refused = Req("", "", 503);
  refused.end = RequestEnd::kRefused;
  u.Record(refused, kT0);

  auto products = u.Window(false, "products", 60, kT0 + 10 * kSecond);
  ASSERT_TRUE(products);
  EXPECT_EQ(products->requests, 11u);
  EXPECT_EQ(products->status[2], 10u);
  EXPECT_EQ(products->status[5], 1u);
  EXPECT_EQ(products->bytes_out, 11000u);
  auto bob = u.Window(true, "bob", 60, kT0);
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->requests, 2u);
  EXPECT_EQ(bob->rate_limited, 1u);
  auto none = u.Window(false, UsageTracker::kNoRoute, 60, kT0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->refused, 1u);
  EXPECT_TRUE(u.Window(true, UsageTracker::kAnonymous, 60, kT0));
  EXPECT_FALSE(u.Window(true, "carol", 60, kT0));
}

TEST(UsageTrackerTest, WindowsSlideAndOldSlotsAreForgotten) {
  UsageTracker u;
  u.Record(Req("r", "a", 200), kT0);                  // slot 0
  u.Record(Req("r", "a", 200), kT0 + 100 * kSecond);  // slot 10
  u.Record(Req("r", "a", 200), kT0 + 290 * kSecond);  // slot 29
  EXPECT_EQ(u.Window(false, "r", 300, kT0 + 290 * kSecond)->requests, 3u);
  EXPECT_EQ(u.Window(false, "r", 60, kT0 + 290 * kSecond)->requests, 1u);
  EXPECT_EQ(u.Window(false, "r", 300, kT0 + 300 * kSecond)->requests, 2u);  // slot 0 slid out
  // Slot 0's place in the ring is reused: the old count is cleared, not added to.
  u.Record(Req("r", "a", 500), kT0 + 300 * kSecond);
  auto w = u.Window(false, "r", 10, kT0 + 300 * kSecond);
  EXPECT_EQ(w->requests, 1u);
  EXPECT_EQ(w->status[5], 1u);
  EXPECT_EQ(u.Window(false, "r", 300, kT0 + 1000 * kSecond)->requests, 0u);
}

TEST(UsageTrackerTest, WindowLatencyIsTheMergedSketch) {
  UsageTracker u;
  for (int i = 1; i <= 100; ++i)
    u.Record(Req("r", "a", 200, i * 100), kT0 + (i % 6) * 10 * kSecond);
  auto w = u.Window(false, "r", 60, kT0 + 50 * kSecond);
  EXPECT_EQ(w->requests, 100u);
  EXPECT_NEAR(w->latency.Quantile(0.5), 5000, 5000 * 0.021);
  EXPECT_NEAR(w->latency.Quantile(0.99), 9900, 9900 * 0.021);
}

TEST(UsageTrackerTest, ConsumersAreCappedWithAnOverflowKey) {
  UsageTracker u(3);
  for (std::string c : {"a", "b", "c", "d", "e"}) u.Record(Req("r", c, 200), kT0);
  EXPECT_EQ(u.consumers_tracked(), 4u);  // a, b, c and (other)
  EXPECT_TRUE(u.Window(true, "c", 60, kT0));
  EXPECT_FALSE(u.Window(true, "d", 60, kT0));
  EXPECT_EQ(u.Window(true, UsageTracker::kOverflow, 60, kT0)->requests, 2u);
  // Once a, b and c have been idle for the whole ring, new consumers take their places.
  const int64_t later = kT0 + 400 * kSecond;
  u.Record(Req("r", "f", 200), later);
  EXPECT_TRUE(u.Window(true, "f", 60, later));
  EXPECT_FALSE(u.Window(true, "a", 60, later));
}

TEST(UsageTrackerTest, RendersJson) {
  UsageTracker u;
  u.Record(Req("products", "alice", 200, 2000), kT0);
  u.Record(Req("products", "alice\"x", 404, 2000), kT0);
  const std::string json = u.RenderJson(kT0);
  EXPECT_THAT(json, HasSubstr(R"("routes":[{"name":"products","1m":{"requests":2,"rps":0.033,)"));
  EXPECT_THAT(json, HasSubstr(R"("status":{"1xx":0,"2xx":1,"3xx":0,"4xx":1,"5xx":0,"none":0})"));
  EXPECT_THAT(json, HasSubstr(R"("name":"alice\"x")"));
  EXPECT_THAT(json, HasSubstr(R"("latency_ms":{"p50":)"));
  EXPECT_EQ(json.back(), '\n');
}

}  // namespace
}  // namespace edge::l7
