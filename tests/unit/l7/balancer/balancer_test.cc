#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "l7/balancer/least_request_balancer.h"
#include "l7/balancer/maglev_balancer.h"
#include "l7/balancer/p2c_ewma_balancer.h"
#include "l7/balancer/round_robin_balancer.h"
#include "l7/balancer/upstream_balancer.h"

namespace edge::l7 {
namespace {

using ::testing::ElementsAre;

std::vector<int> Counts(UpstreamBalancer& b, int n, int picks,
                        const std::vector<bool>& excluded = {}, std::string_view key = "") {
  std::vector<int> counts(static_cast<size_t>(n), 0);
  for (int i = 0; i < picks; ++i) {
    const int s = b.Pick(key, excluded);
    EXPECT_GE(s, 0);
    EXPECT_LT(s, n);
    if (s >= 0 && s < n) ++counts[static_cast<size_t>(s)];
  }
  return counts;
}

std::string Sequence(UpstreamBalancer& b, int picks, const std::vector<bool>& excluded = {}) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    const int s = b.Pick("", excluded);
    out += s < 0 ? '-' : static_cast<char>('a' + s);
  }
  return out;
}

// --- round robin ---

TEST(RoundRobin, EqualWeightsRotate) {
  RoundRobinBalancer b({1, 1, 1});
  EXPECT_EQ(Sequence(b, 9), "abcabcabc");
}

TEST(RoundRobin, SmoothWeightedLikeNginx) {
  // nginx's documented example: weights 5, 1, 1 give a a b a c a a.
  RoundRobinBalancer b({5, 1, 1});
  EXPECT_EQ(Sequence(b, 7), "aabacaa");
  EXPECT_EQ(Sequence(b, 7), "aabacaa");
}

TEST(RoundRobin, DistributionFollowsWeights) {
  RoundRobinBalancer b({1, 2, 3, 4});
  EXPECT_THAT(Counts(b, 4, 10000), ElementsAre(1000, 2000, 3000, 4000));
}

TEST(RoundRobin, SkipsExcludedAndKeepsProportionsOfTheRest) {
  RoundRobinBalancer b({1, 3, 1});
  EXPECT_THAT(Counts(b, 3, 4000, {false, false, true}), ElementsAre(1000, 3000, 0));
  EXPECT_EQ(Sequence(b, 3, {true, false, true}), "bbb");
}

TEST(RoundRobin, SetWeightsChangesTheShares) {
  RoundRobinBalancer b({1, 1, 1});
  EXPECT_THAT(Counts(b, 3, 300), ElementsAre(100, 100, 100));
  b.SetWeights({3, 1, 0});  // 0 is read as 1
  EXPECT_THAT(Counts(b, 3, 500), ElementsAre(300, 100, 100));
}

TEST(RoundRobin, AllExcludedOrEmpty) {
  RoundRobinBalancer b({1, 1});
  EXPECT_EQ(b.Pick("", {true, true}), -1);
  RoundRobinBalancer empty({});
  EXPECT_EQ(empty.Pick("", {}), -1);
}

// --- least request ---

TEST(LeastRequest, PicksFewestInFlight) {
  LeastRequestBalancer b({1, 1, 1});
  b.OnRequestStart(0);
  b.OnRequestStart(0);
  b.OnRequestStart(1);
  EXPECT_EQ(b.Pick("", {}), 2);
  b.OnRequestStart(2);
  b.OnRequestStart(2);
  EXPECT_EQ(b.Pick("", {}), 1);
  b.OnRequestEnd(0, 1000, true);
  b.OnRequestEnd(0, 1000, true);
  EXPECT_EQ(b.Pick("", {}), 0);
  EXPECT_EQ(b.in_flight(0), 0);
}

TEST(LeastRequest, TiesRotate) {
  LeastRequestBalancer b({1, 1, 1, 1});
  EXPECT_EQ(Sequence(b, 8), "abcdabcd");
}

TEST(LeastRequest, WeightsScaleCapacity) {
  LeastRequestBalancer b({1, 3});
  // Keep every picked request in flight: the heavier server takes three for each one.
  std::vector<int> counts(2, 0);
  for (int i = 0; i < 400; ++i) {
    const int s = b.Pick("", {});
    ASSERT_GE(s, 0);
    ++counts[static_cast<size_t>(s)];
    b.OnRequestStart(s);
  }
  EXPECT_EQ(counts[0], 100);
  EXPECT_EQ(counts[1], 300);
}

TEST(LeastRequest, SetWeightsKeepsTheInFlightCounts) {
  LeastRequestBalancer b({1, 1});
  b.OnRequestStart(0);
  b.OnRequestStart(0);
  b.OnRequestStart(1);
  EXPECT_EQ(b.Pick("", {}), 1);  // 2/1 against 1/1
  b.SetWeights({4, 1});
  EXPECT_EQ(b.in_flight(0), 2);
  EXPECT_EQ(b.Pick("", {}), 0);  // 2/4 against 1/1
}

TEST(LeastRequest, SkipsExcluded) {
  LeastRequestBalancer b({1, 1, 1});
  b.OnRequestStart(0);
  b.OnRequestStart(0);
  EXPECT_THAT(Counts(b, 3, 30, {false, true, true}), ElementsAre(30, 0, 0));
  EXPECT_EQ(b.Pick("", {true, true, true}), -1);
}

TEST(LeastRequest, UnmatchedEndsNeverGoNegative) {
  LeastRequestBalancer b({1, 1});
  b.OnRequestEnd(0, 0, false);
  b.OnRequestEnd(7, 0, false);  // out of range: ignored
  b.OnRequestStart(-1);
  EXPECT_EQ(b.in_flight(0), 0);
}

// --- p2c ewma ---

struct FakeClock {
  int64_t now = 1'000'000'000;
  std::function<int64_t()> Fn() {
    return [this] { return now; };
  }
};

P2cEwmaOptions Options(FakeClock& clock, uint64_t seed = 42) {
  P2cEwmaOptions o;
  o.seed = seed;
  o.now_ns = clock.Fn();
  return o;
}

// Runs `requests` sequential requests; server i answers in latency_ms[i].
std::vector<int> RunSequential(P2cEwmaBalancer& b, FakeClock& clock,
                               const std::vector<int64_t>& latency_ms, int requests) {
  std::vector<int> counts(latency_ms.size(), 0);
  for (int i = 0; i < requests; ++i) {
    const int s = b.Pick("", {});
    EXPECT_GE(s, 0);
    ++counts[static_cast<size_t>(s)];
    b.OnRequestStart(s);
    const int64_t latency = latency_ms[static_cast<size_t>(s)] * 1'000'000;
    clock.now += latency;
    b.OnRequestEnd(s, latency, true);
  }
  return counts;
}

TEST(P2cEwma, PrefersTheFasterServer) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  std::vector<int> counts = RunSequential(b, clock, {50, 5}, 1000);
  // With two servers every pick compares both: after one sample each, the fast one always wins.
  EXPECT_GE(counts[1], 990);
  EXPECT_LE(counts[0], 10);
}

TEST(P2cEwma, FasterServersTakeMostOfTheLoadAmongMany) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1, 1, 1}, Options(clock, 7));
  std::vector<int> counts = RunSequential(b, clock, {40, 40, 2, 40}, 2000);
  // p2c: the fast server wins whenever it is one of the two candidates, which is half of the
  // picks with four servers; the slow ones share the other half (about a sixth each).
  EXPECT_GT(counts[2], 900);
  for (int i : {0, 1, 3}) EXPECT_LT(counts[static_cast<size_t>(i)], 450);
}

TEST(P2cEwma, DeterministicWithTheSameSeed) {
  FakeClock c1, c2;
  P2cEwmaBalancer a({1, 1, 1, 1, 1}, Options(c1, 99));
  P2cEwmaBalancer b({1, 1, 1, 1, 1}, Options(c2, 99));
  EXPECT_EQ(RunSequential(a, c1, {5, 6, 7, 8, 9}, 500), RunSequential(b, c2, {5, 6, 7, 8, 9}, 500));
}

TEST(P2cEwma, InFlightCountsAgainstAServer) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  b.OnRequestStart(0);
  b.OnRequestEnd(0, 10'000'000, true);
  b.OnRequestStart(1);
  b.OnRequestEnd(1, 10'000'000, true);
  // Equal latency; three requests stuck on server 0 make server 1 cheaper.
  for (int i = 0; i < 3; ++i) b.OnRequestStart(0);
  EXPECT_GT(b.Cost(0), b.Cost(1));
  EXPECT_EQ(b.Pick("", {}), 1);
}

TEST(P2cEwma, PeakReactsAtOnceAndDecaysOverTime) {
  FakeClock clock;
  P2cEwmaOptions o = Options(clock);
  o.decay = absl::Seconds(10);
  P2cEwmaBalancer b({1}, o);
  b.OnRequestEnd(0, 10'000'000, true);
  EXPECT_DOUBLE_EQ(b.LatencyEwmaNs(0), 10'000'000);
  b.OnRequestEnd(0, 500'000'000, true);  // a slow answer counts in full at once
  EXPECT_DOUBLE_EQ(b.LatencyEwmaNs(0), 500'000'000);
  clock.now += 10'000'000'000;  // one tau later, idle: e^-1 of it remains
  EXPECT_NEAR(b.LatencyEwmaNs(0), 500'000'000 * std::exp(-1.0), 1000);
  // A fast sample after a long gap weighs 1 - e^-dt/tau of the average.
  b.OnRequestEnd(0, 10'000'000, true);
  EXPECT_NEAR(b.LatencyEwmaNs(0), 500'000'000 * std::exp(-1.0) + 10'000'000 * (1 - std::exp(-1.0)),
              1000);
}

TEST(P2cEwma, FrequentPicksDoNotEraseSamples) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  b.OnRequestEnd(0, 100'000'000, true);
  b.OnRequestEnd(1, 1'000'000, true);
  for (int i = 0; i < 10000; ++i) {
    clock.now += 1000;  // reads 1us apart must not move the averages
    b.Pick("", {});
  }
  EXPECT_NEAR(b.LatencyEwmaNs(0), 100'000'000 * std::exp(-0.001), 1000);
}

TEST(P2cEwma, ASlowServerIsTriedAgainLater) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  b.OnRequestEnd(0, 2'000'000'000, true);  // 2s once
  b.OnRequestEnd(1, 10'000'000, true);
  EXPECT_EQ(b.Pick("", {}), 1);
  clock.now += 120'000'000'000;  // two minutes without news of either
  // Both decayed by the same factor: still 1. Now server 1 answers slowly once more...
  b.OnRequestEnd(1, 50'000'000, true);
  // ...and server 0's stale 2s has decayed below it: 0 gets traffic again.
  EXPECT_EQ(b.Pick("", {}), 0);
}

TEST(P2cEwma, NewServerStartsAtTheMedian) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1, 1, 1}, Options(clock));
  b.OnRequestEnd(0, 10'000'000, true);
  b.OnRequestEnd(1, 20'000'000, true);
  b.OnRequestEnd(2, 30'000'000, true);
  // Server 3 has no sample: it costs like the median (20ms), cheaper than the slowest.
  EXPECT_LT(b.Cost(3), b.Cost(2));
  EXPECT_GT(b.Cost(3), b.Cost(0));
  EXPECT_DOUBLE_EQ(b.LatencyEwmaNs(3), -1);
}

TEST(P2cEwma, NewServerIsTriedAgainstALoneSampledOne) {
  // The unsampled server costs the median, which here is the other server's own average: the
  // tie must not always go the same way, or the new server would never get a request.
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  b.OnRequestEnd(0, 10'000'000, true);
  int tried = 0;
  for (int i = 0; i < 20 && tried == 0; ++i) tried += b.Pick("", {}) == 1;
  EXPECT_EQ(tried, 1);
}

TEST(P2cEwma, FailuresArePenalised) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1}, Options(clock));
  b.OnRequestEnd(0, 1'000'000, false);  // a fast failure (connection refused)
  b.OnRequestEnd(1, 20'000'000, true);
  EXPECT_GE(b.LatencyEwmaNs(0), P2cEwmaBalancer::kFailurePenaltyNs);
  EXPECT_EQ(b.Pick("", {}), 1);
}

TEST(P2cEwma, ExclusionAndSingleServer) {
  FakeClock clock;
  P2cEwmaBalancer b({1, 1, 1}, Options(clock));
  EXPECT_THAT(Counts(b, 3, 100, {true, false, true}), ElementsAre(0, 100, 0));
  EXPECT_EQ(b.Pick("", {true, true, true}), -1);
  std::vector<int> two = Counts(b, 3, 300, {false, true, false});
  EXPECT_EQ(two[1], 0);
  P2cEwmaBalancer none({}, Options(clock));
  EXPECT_EQ(none.Pick("", {}), -1);
}

TEST(P2cEwma, UnknownServersAreIgnored) {
  FakeClock clock;
  P2cEwmaBalancer b({1}, Options(clock));
  b.OnRequestStart(5);
  b.OnRequestEnd(-1, 1, true);
  EXPECT_EQ(b.Pick("", {}), 0);
}

// --- maglev ---

std::vector<net::SocketAddress> Servers(int n) {
  std::vector<net::SocketAddress> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(*net::SocketAddress::Parse("10.0.0." + std::to_string(i + 1) + ":80"));
  }
  return out;
}

TEST(Maglev, SameKeySameServer) {
  auto b = MaglevBalancer::Create(Servers(5), {1, 1, 1, 1, 1}, 65537);
  ASSERT_TRUE(b.ok()) << b.status();
  for (int i = 0; i < 100; ++i) {
    const std::string key = "ip:192.0.2." + std::to_string(i);
    const int first = (*b)->Pick(key, {});
    ASSERT_GE(first, 0);
    for (int j = 0; j < 3; ++j) EXPECT_EQ((*b)->Pick(key, {}), first);
  }
}

TEST(Maglev, SetWeightsShiftsKeysTowardTheHeavierServer) {
  auto b = MaglevBalancer::Create(Servers(2), {1, 1}, 65537);
  ASSERT_TRUE(b.ok());
  auto count_first = [&] {
    int n = 0;
    for (int i = 0; i < 4000; ++i) n += (*b)->Pick(absl::StrCat("k", i), {}) == 0 ? 1 : 0;
    return n;
  };
  const int even = count_first();
  EXPECT_GT(even, 1600);
  EXPECT_LT(even, 2400);
  (*b)->SetWeights({9, 1});
  EXPECT_GT(count_first(), 3300);
  (*b)->SetWeights({1, 1});
  EXPECT_EQ(count_first(), even);
}

TEST(Maglev, StableAcrossInstancesAndServerOrder) {
  // Another gw7 process with the servers listed in another order agrees on every key.
  std::vector<net::SocketAddress> a = Servers(4);
  std::vector<net::SocketAddress> reversed(a.rbegin(), a.rend());
  auto one = MaglevBalancer::Create(a, {}, 65537);
  auto two = MaglevBalancer::Create(reversed, {}, 65537);
  ASSERT_TRUE(one.ok() && two.ok());
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "h:user-" + std::to_string(i);
    const int x = (*one)->Pick(key, {});
    const int y = (*two)->Pick(key, {});
    EXPECT_EQ(a[static_cast<size_t>(x)], reversed[static_cast<size_t>(y)]) << key;
  }
}

TEST(Maglev, SpreadsKeysRoughlyEvenly) {
  auto b = MaglevBalancer::Create(Servers(4), {}, 65537);
  ASSERT_TRUE(b.ok());
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 40000; ++i) ++counts[(*b)->Pick(absl::StrCat("k", i), {})];
  for (int c : counts) {
    EXPECT_GT(c, 9000);
    EXPECT_LT(c, 11000);
  }
}

TEST(Maglev, ExcludingOneMovesOnlyItsKeys) {
  auto b = MaglevBalancer::Create(Servers(5), {}, 65537);
  ASSERT_TRUE(b.ok());
  const std::vector<bool> excluded = {false, false, true, false, false};
  int moved = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "k" + std::to_string(i);
    const int before = (*b)->Pick(key, {});
    const int after = (*b)->Pick(key, excluded);
    EXPECT_NE(after, 2);
    if (before != 2) {
      EXPECT_EQ(after, before) << key;
    } else {
      ++moved;
    }
  }
  EXPECT_GT(moved, 700);  // about a fifth of the keys lived on server 2
  EXPECT_EQ((*b)->Pick("k", {true, true, true, true, true}), -1);
}

TEST(Maglev, WeightsShiftTheShare) {
  auto b = MaglevBalancer::Create(Servers(2), {1, 3}, 65537);
  ASSERT_TRUE(b.ok());
  int heavy = 0;
  for (int i = 0; i < 40000; ++i) heavy += (*b)->Pick(absl::StrCat("k", i), {}) == 1;
  EXPECT_GT(heavy, 29000);
  EXPECT_LT(heavy, 31000);
}

// --- factory and keys ---

class FakeRequest : public RequestView {
 public:
  std::map<std::string, std::string> headers;
  net::SocketAddress client = *net::SocketAddress::Parse("192.0.2.7:5555");
  std::string_view method() const override { return "GET"; }
  std::string_view path() const override { return "/"; }
  std::string_view query() const override { return ""; }
  std::string_view host() const override { return "h"; }
  std::optional<std::string_view> header(std::string_view name) const override {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
  size_t header_count(std::string_view name) const override { return header(name) ? 1 : 0; }
  const net::SocketAddress& client_address() const override { return client; }
  std::string_view route_name() const override { return "r"; }
};

TEST(BalanceKey, ClientIp) {
  UpstreamConfig config;
  FakeRequest request;
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
  request.client = *net::SocketAddress::Parse("192.0.2.7:1");  // the port never matters
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
}

TEST(BalanceKey, HeaderWithFallbackToClientIp) {
  UpstreamConfig config;
  config.hash_on = "header:x-user-id";
  FakeRequest request;
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
  request.headers["x-user-id"] = "alice";
  EXPECT_EQ(BalanceKey(config, request), "h:alice");
  request.headers["x-user-id"] = "";
  EXPECT_EQ(BalanceKey(config, request), "h:");
}

TEST(BalanceKey, Cookie) {
  UpstreamConfig config;
  config.hash_on = "cookie:session";
  FakeRequest request;
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
  request.headers["cookie"] = "theme=dark; session=abc123; other=1";
  EXPECT_EQ(BalanceKey(config, request), "c:abc123");
  request.headers["cookie"] = "session=first;session=second";
  EXPECT_EQ(BalanceKey(config, request), "c:first");
  request.headers["cookie"] = "mysession=x; sessionid=y";  // names compare exactly
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
  request.headers["cookie"] = ";;; =; session";  // malformed pairs are skipped
  EXPECT_EQ(BalanceKey(config, request), "ip:192.0.2.7");
  request.headers["cookie"] = "\tsession=v \t";
  EXPECT_EQ(BalanceKey(config, request), "c:v");
}

TEST(MakeUpstreamBalancer, BuildsEachPolicy) {
  UpstreamConfig config;
  config.servers = Servers(3);
  config.weights = {1, 1, 1};
  for (UpstreamBalance kind : {UpstreamBalance::kRoundRobin, UpstreamBalance::kLeastRequest,
                               UpstreamBalance::kP2cEwma, UpstreamBalance::kMaglev}) {
    config.balance = kind;
    std::unique_ptr<UpstreamBalancer> b = MakeUpstreamBalancer(config);
    ASSERT_NE(b, nullptr);
    std::vector<int> counts = Counts(*b, 3, 300, {false, true, false}, "ip:1.2.3.4");
    EXPECT_EQ(counts[1], 0) << ConfigName(kind);
    EXPECT_EQ(b->Pick("ip:1.2.3.4", {true, true, true}), -1) << ConfigName(kind);
  }
  config.balance = UpstreamBalance::kRoundRobin;
  EXPECT_NE(dynamic_cast<RoundRobinBalancer*>(MakeUpstreamBalancer(config).get()), nullptr);
  config.balance = UpstreamBalance::kMaglev;
  EXPECT_NE(dynamic_cast<MaglevBalancer*>(MakeUpstreamBalancer(config).get()), nullptr);
}

TEST(MakeUpstreamBalancer, MaglevFromConfigAgreesAcrossInstances) {
  UpstreamConfig config;
  config.balance = UpstreamBalance::kMaglev;
  config.servers = Servers(3);
  config.weights = {1, 2, 1};
  auto a = MakeUpstreamBalancer(config);
  auto b = MakeUpstreamBalancer(config);
  for (int i = 0; i < 200; ++i) {
    const std::string key = "c:" + std::to_string(i);
    EXPECT_EQ(a->Pick(key, {}), b->Pick(key, {}));
  }
}

}  // namespace
}  // namespace edge::l7
