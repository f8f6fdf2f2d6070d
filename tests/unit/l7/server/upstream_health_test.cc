// An upstream's health as a whole (l7/server/upstream_health.h): the ejection cap that keeps a
// cold start from ejecting every server, and the panic threshold, with its transitions and its
// request counter. No I/O: servers' verdicts are recorded directly, time is a number.

#include "l7/server/upstream_health.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "l7/server/gateway_runtime.h"

namespace edge::l7 {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// An upstream of `n` servers wired as BuildGatewayRuntime wires them.
struct Upstream {
  explicit Upstream(size_t n, int panic_threshold = 50, int max_ejection_percent = 50) {
    config.name = "app";
    config.passive_failures = 2;
    config.panic_threshold = panic_threshold;
    config.max_ejection_percent = max_ejection_percent;
    config.health.rise = 1;
    config.health.fall = 1;
    std::vector<UpstreamServer*> members;
    for (size_t i = 0; i < n; ++i) {
      auto a = net::SocketAddress::Parse("127.0.0.1:" + std::to_string(9101 + i));
      servers.push_back(std::make_unique<UpstreamServer>(*a, config));
      members.push_back(servers.back().get());
    }
    health = std::make_unique<UpstreamHealth>(config, members);
    for (auto& s : servers) {
      s->group = health.get();
      s->passive.set_budget(health.get());
    }
  }
  // An active check verdict, as GatewayServer's probe callback records it.
  void Check(size_t i, bool ok) {
    if (servers[i]->check.Record(ok)) health->Invalidate();
  }
  size_t Ejected(int64_t now) const {
    size_t n = 0;
    for (const auto& s : servers) n += s->passive.ejected(now) ? 1 : 0;
    return n;
  }

  UpstreamConfig config;
  std::vector<std::unique_ptr<UpstreamServer>> servers;
  std::unique_ptr<UpstreamHealth> health;
};

TEST(UpstreamHealth, AColdStartEjectsAtMostMaxEjectionPercent) {
  Upstream u(3);
  for (int round = 0; round < 10; ++round) {
    for (auto& s : u.servers) s->passive.Record(false, 0);
  }
  EXPECT_EQ(u.Ejected(0), 1u);  // 50% of 3, rounded down
  size_t available = 0;
  for (const auto& s : u.servers) available += s->Available(0) ? 1 : 0;
  EXPECT_EQ(available, 2u);  // 2 of 3 healthy: no panic, the ejected one is skipped
  // Once that ejection ends (10s, the default), another server may take its place.
  for (int round = 0; round < 2; ++round) u.servers[2]->passive.Record(false, 11 * kSecond);
  EXPECT_EQ(u.Ejected(11 * kSecond), 1u);
  EXPECT_EQ(u.health->Healthy(11 * kSecond), 2u);
}

TEST(UpstreamHealth, OneHundredPercentMayEjectEveryServer) {
  Upstream u(2, /*panic_threshold=*/0, /*max_ejection_percent=*/100);
  for (int round = 0; round < 2; ++round) {
    for (auto& s : u.servers) s->passive.Record(false, 0);
  }
  EXPECT_EQ(u.Ejected(0), 2u);
  EXPECT_FALSE(u.servers[0]->Available(0));  // no panic: nothing to pick, the answer is 503
  EXPECT_FALSE(u.servers[1]->Available(0));
}

TEST(UpstreamHealth, BelowThePanicThresholdEveryServerIsAvailable) {
  Upstream u(3);
  u.Check(0, false);
  EXPECT_FALSE(u.health->InPanic(1));  // 2 of 3 healthy
  EXPECT_FALSE(u.servers[0]->Available(1));
  u.Check(1, false);  // 1 of 3: below 50%
  EXPECT_TRUE(u.health->InPanic(1));
  for (const auto& s : u.servers) {
    EXPECT_TRUE(s->Available(1));
  }
  EXPECT_FALSE(u.servers[0]->Healthy(1));  // what /metrics reports as up stays the truth
  u.Check(1, true);
  EXPECT_FALSE(u.health->InPanic(1));
  EXPECT_FALSE(u.servers[0]->Available(1));
}

TEST(UpstreamHealth, ZeroThresholdNeverPanics) {
  Upstream u(2, /*panic_threshold=*/0);
  u.Check(0, false);
  u.Check(1, false);
  EXPECT_FALSE(u.health->InPanic(1));
  EXPECT_FALSE(u.servers[0]->Available(1));
}

TEST(UpstreamHealth, PanicRequestsCountTheAttemptsWhileItLasts) {
  Upstream u(2);
  u.servers[0]->requests = 7;  // before: not counted
  u.Check(0, false);
  u.Check(1, false);
  EXPECT_TRUE(u.servers[0]->Available(2));  // the request path's evaluation starts the panic
  u.servers[0]->requests += 3;
  u.servers[1]->requests += 2;
  EXPECT_EQ(u.health->PanicRequests(2), 5u);
  u.Check(0, true);
  EXPECT_FALSE(u.servers[1]->Available(3));  // 1 of 2 healthy: the panic is over
  u.servers[0]->requests += 4;  // after: not counted
  EXPECT_EQ(u.health->PanicRequests(3), 5u);
}

TEST(UpstreamHealth, AReloadCarriesThePanicAndItsCounter) {
  Upstream old(2);
  old.Check(0, false);
  old.Check(1, false);
  EXPECT_TRUE(old.health->InPanic(1));
  old.servers[0]->requests += 4;
  Upstream fresh(2);
  fresh.Check(0, false);
  fresh.Check(1, false);
  fresh.servers[0]->requests = old.servers[0]->requests;  // BuildGatewayRuntime carries them
  fresh.health->InheritCounters(*old.health);
  EXPECT_EQ(fresh.health->PanicRequests(2), 4u);
  fresh.servers[1]->requests += 1;
  EXPECT_EQ(fresh.health->PanicRequests(2), 5u);
}

}  // namespace
}  // namespace edge::l7
