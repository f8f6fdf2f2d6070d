#include "l4/balancer/balancer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/hash/hash.h"
#include "l4/balancer/client_hash.h"
#include "l4/balancer/maglev_balancer.h"
#include "l4/balancer/round_robin_balancer.h"

namespace edge::l4 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr BalanceKind kAllKinds[] = {BalanceKind::kMaglev, BalanceKind::kRoundRobin,
                                     BalanceKind::kLeastConn, BalanceKind::kRandomTwo};

std::vector<std::shared_ptr<Backend>> MakePool(std::vector<uint32_t> weights) {
  std::vector<std::shared_ptr<Backend>> pool;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto addr = net::SocketAddress::Parse(absl::StrFormat("10.0.0.%d:8000", i + 1));
    EXPECT_TRUE(addr.ok());
    pool.push_back(std::make_shared<Backend>(*addr, weights[i]));
  }
  return pool;
}

std::vector<std::shared_ptr<Backend>> MakePool(size_t n) {
  return MakePool(std::vector<uint32_t>(n, 1));
}

std::unique_ptr<Balancer> Make(BalanceKind kind, std::vector<std::shared_ptr<Backend>> pool,
                               HashKey key = HashKey::kSourceIp, uint32_t table_size = 65537) {
  auto b = MakeBalancer({.kind = kind, .hash = key, .table_size = table_size}, std::move(pool));
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *std::move(b) : nullptr;
}

// Client number i: distinct IPv4 addresses 192.0.<i/250>.<i%250 + 1>, port 40000 + i % 20000.
net::SocketAddress Client(int i) {
  return net::SocketAddress::FromBytes(
      std::string({char(192), char(0), char(i / 250), char(i % 250 + 1)}), 40000 + i % 20000);
}

// Picks n times (distinct clients) and counts the backends chosen.
std::map<int, int> CountPicks(Balancer& b, int n, const std::vector<bool>& tried = {}) {
  std::map<int, int> counts;
  for (int i = 0; i < n; ++i) ++counts[b.Pick(Client(i), tried)];
  return counts;
}

const char* KindName(BalanceKind kind) {
  switch (kind) {
    case BalanceKind::kMaglev:
      return "maglev";
    case BalanceKind::kRoundRobin:
      return "round_robin";
    case BalanceKind::kLeastConn:
      return "least_conn";
    case BalanceKind::kRandomTwo:
      return "random_two";
  }
  return "unknown";
}

class EveryBalancer : public ::testing::TestWithParam<BalanceKind> {};

INSTANTIATE_TEST_SUITE_P(Kinds, EveryBalancer, ::testing::ValuesIn(kAllKinds),
                         [](const auto& info) { return std::string(KindName(info.param)); });

TEST_P(EveryBalancer, EmptyPoolPicksNothing) {
  auto b = Make(GetParam(), {});
  EXPECT_EQ(b->Pick(Client(1), {}), -1);
}

TEST_P(EveryBalancer, OneBackend) {
  auto pool = MakePool(1);
  auto b = Make(GetParam(), pool);
  EXPECT_EQ(b->Pick(Client(1), {}), 0);
  EXPECT_EQ(b->Pick(Client(1), {true}), -1);
  pool[0]->healthy = false;
  EXPECT_EQ(b->Pick(Client(1), {}), -1);
}

TEST_P(EveryBalancer, SkipsUnhealthyAndTried) {
  auto pool = MakePool(5);
  auto b = Make(GetParam(), pool);
  pool[1]->healthy = false;
  pool[3]->healthy = false;
  const std::vector<bool> tried = {true, false, false, false, false};
  const auto counts = CountPicks(*b, 3000, tried);
  // Only backends 2 and 4 are eligible, and both get some of 3000 distinct clients.
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_GT(counts.at(2), 0);
  EXPECT_GT(counts.at(4), 0);
}

TEST_P(EveryBalancer, SkipsDrainedBackendsWhateverTheirHealth) {
  auto pool = MakePool(4);
  auto b = Make(GetParam(), pool);
  pool[0]->admin_drained = true;
  pool[2]->admin_drained = true;
  const auto counts = CountPicks(*b, 3000);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_GT(counts.at(1), 0);
  EXPECT_GT(counts.at(3), 0);
  for (auto& backend : pool) backend->admin_drained = true;
  EXPECT_EQ(b->Pick(Client(7), {}), -1);
  pool[2]->admin_drained = false;  // enable
  EXPECT_EQ(b->Pick(Client(7), {}), 2);
}

TEST_P(EveryBalancer, NothingEligibleIsMinusOne) {
  auto pool = MakePool(4);
  auto b = Make(GetParam(), pool);
  EXPECT_EQ(b->Pick(Client(7), std::vector<bool>(4, true)), -1);
  for (auto& backend : pool) backend->healthy = false;
  EXPECT_EQ(b->Pick(Client(7), {}), -1);
  EXPECT_EQ(b->Pick(Client(7), {false, true}), -1);
  pool[2]->healthy = true;
  EXPECT_EQ(b->Pick(Client(7), {}), 2);
}

TEST_P(EveryBalancer, ShortTriedVectorMeansNotTried) {
  auto pool = MakePool(3);
  auto b = Make(GetParam(), pool);
  for (int i = 0; i < 100; ++i) EXPECT_NE(b->Pick(Client(i), {true}), 0);
}

TEST_P(EveryBalancer, ConcurrentPicksAreSafe) {
  auto pool = MakePool({1, 2, 3, 1, 1, 2, 1, 1});
  auto b = Make(GetParam(), pool);
  std::atomic<bool> stop{false};
  // Flaps backends 0..3 while the pickers run; 4..7 stay healthy, so a pick never fails.
  std::thread flapper([&] {
    for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      pool[i % 4]->healthy = (i / 4) % 2 == 0;
    }
  });
  std::vector<std::thread> pickers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    pickers.emplace_back([&, t] {
      const std::vector<bool> tried = {false, false, false, false, t % 2 == 0};
      for (int i = 0; i < 20000; ++i) {
        const int picked = b->Pick(Client(i * 4 + t), tried);
        if (picked < 0 || picked >= 8 || (picked == 4 && tried[4])) ++bad;
        // Stands in for the relay's connection accounting that least_conn and random_two read.
        pool[picked < 0 ? 0 : picked]->active.fetch_add(1, std::memory_order_relaxed);
        pool[picked < 0 ? 0 : picked]->active.fetch_sub(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : pickers) t.join();
  stop = true;
  flapper.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(MakeBalancer, RefusesBadOptionsAndBackends) {
  auto not_prime = MakeBalancer({.kind = BalanceKind::kMaglev, .table_size = 65536}, MakePool(3));
  ASSERT_FALSE(not_prime.ok());
  EXPECT_EQ(not_prime.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_prime.status().message(), HasSubstr("not prime"));

  auto too_small = MakeBalancer({.kind = BalanceKind::kMaglev, .table_size = 3}, MakePool(5));
  ASSERT_FALSE(too_small.ok());
  EXPECT_THAT(too_small.status().message(), HasSubstr("smaller than the number of backends"));

  for (BalanceKind kind : kAllKinds) {
    auto zero = MakeBalancer({.kind = kind}, MakePool({1, 0}));
    ASSERT_FALSE(zero.ok());
    EXPECT_THAT(zero.status().message(), HasSubstr("\"10.0.0.2:8000\": weight must be >= 1"));
    auto null = MakeBalancer({.kind = kind}, {nullptr});
    EXPECT_FALSE(null.ok());
  }
  // table_size is maglev's alone.
  EXPECT_TRUE(MakeBalancer({.kind = BalanceKind::kRoundRobin, .table_size = 4}, MakePool(5)).ok());
}

// --- maglev ---

TEST(MaglevBalancer, SameClientSameBackend) {
  auto b = Make(BalanceKind::kMaglev, MakePool(10));
  for (int i = 0; i < 1000; ++i) {
    const int first = b->Pick(Client(i), {});
    ASSERT_GE(first, 0);
    for (int again = 0; again < 3; ++again) EXPECT_EQ(b->Pick(Client(i), {}), first);
  }
  // And the clients spread over the whole pool.
  EXPECT_EQ(CountPicks(*b, 5000).size(), 10u);
}

TEST(MaglevBalancer, SourceIpIgnoresThePortAndSourceIpPortDoesNot) {
  auto by_ip = Make(BalanceKind::kMaglev, MakePool(10), HashKey::kSourceIp);
  auto by_ip_port = Make(BalanceKind::kMaglev, MakePool(10), HashKey::kSourceIpPort);
  auto client = *net::SocketAddress::Parse("203.0.113.9:1000");
  const int ip_choice = by_ip->Pick(client, {});
  std::set<int> ip_port_choices;
  for (uint16_t port = 1000; port < 1100; ++port) {
    client.set_port(port);
    EXPECT_EQ(by_ip->Pick(client, {}), ip_choice);
    ip_port_choices.insert(by_ip_port->Pick(client, {}));
  }
  EXPECT_GT(ip_port_choices.size(), 5u);
}

TEST(MaglevBalancer, SameChoiceWhateverTheConfigOrder) {
  auto pool = MakePool(20);
  auto reversed = std::vector<std::shared_ptr<Backend>>(pool.rbegin(), pool.rend());
  auto a = Make(BalanceKind::kMaglev, pool);
  auto b = Make(BalanceKind::kMaglev, reversed);
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(pool[a->Pick(Client(i), {})]->key, reversed[b->Pick(Client(i), {})]->key);
  }
}

TEST(MaglevBalancer, UnhealthyBackendMovesOnlyItsClients) {
  auto pool = MakePool(10);
  auto b = Make(BalanceKind::kMaglev, pool);
  std::vector<int> before;
  for (int i = 0; i < 5000; ++i) before.push_back(b->Pick(Client(i), {}));
  pool[6]->healthy = false;
  std::set<int> new_homes;
  for (int i = 0; i < 5000; ++i) {
    const int now = b->Pick(Client(i), {});
    if (before[i] != 6) {
      EXPECT_EQ(now, before[i]) << i;
    } else {
      EXPECT_NE(now, 6);
      new_homes.insert(now);
    }
  }
  EXPECT_GT(new_homes.size(), 5u);  // spread, not all on one neighbour
  pool[6]->healthy = true;
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(b->Pick(Client(i), {}), before[i]);
}

TEST(MaglevBalancer, DrainMovesOnlyTheDrainedBackendsClients) {
  auto pool = MakePool(4);
  auto b = Make(BalanceKind::kMaglev, pool);
  std::vector<int> before;
  for (int i = 0; i < 2000; ++i) before.push_back(b->Pick(Client(i), {}));
  pool[1]->admin_drained = true;
  for (int i = 0; i < 2000; ++i) {
    const int now = b->Pick(Client(i), {});
    EXPECT_NE(now, 1);
    if (before[static_cast<size_t>(i)] != 1) {
      EXPECT_EQ(now, before[static_cast<size_t>(i)]) << i;
    }
  }
  pool[1]->admin_drained = false;
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(b->Pick(Client(i), {}), before[static_cast<size_t>(i)]);
}

TEST(MaglevBalancer, RetryIsDeterministicAndSkipsTried) {
  auto b = Make(BalanceKind::kMaglev, MakePool(8));
  for (int i = 0; i < 200; ++i) {
    std::vector<bool> tried(8, false);
    std::set<int> seen;
    for (int attempt = 0; attempt < 8; ++attempt) {
      const int picked = b->Pick(Client(i), tried);
      ASSERT_GE(picked, 0);
      EXPECT_EQ(b->Pick(Client(i), tried), picked);  // every lb4 retries the same way
      EXPECT_TRUE(seen.insert(picked).second);
      tried[picked] = true;
    }
    EXPECT_EQ(b->Pick(Client(i), tried), -1);
  }
}

TEST(MaglevBalancer, PredictMatchesPickAndHashClient) {
  auto made = MaglevBalancer::Create(MakePool(10), HashKey::kSourceIp, 65537);
  ASSERT_TRUE(made.ok());
  MaglevBalancer& b = **made;
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(b.Predict(Client(i)), b.Pick(Client(i), {}));
    EXPECT_EQ(b.Predict(Client(i)), b.table().Lookup(HashClient(Client(i), HashKey::kSourceIp)));
  }
}

TEST(MaglevBalancer, WeightsShiftTheShares) {
  auto b = Make(BalanceKind::kMaglev, MakePool({1, 3}));
  const auto counts = CountPicks(*b, 40000);
  EXPECT_NEAR(counts.at(1) / 40000.0, 0.75, 0.02);
}

TEST(HashClient, DeterministicAndKeyed) {
  const auto v4 = *net::SocketAddress::Parse("192.0.2.1:5000");
  const auto mapped = *net::SocketAddress::Parse("[::ffff:192.0.2.1]:5000");
  const auto v6 = *net::SocketAddress::Parse("[2001:db8::1]:5000");
  // Locked: every lb4 of a tier must send a client to the same place.
  EXPECT_EQ(HashClient(v4, HashKey::kSourceIp), 0x6fef76612f8e5178ULL);
  EXPECT_EQ(HashClient(v4, HashKey::kSourceIpPort), 0x5f2c42d4365570c2ULL);
  EXPECT_EQ(HashClient(mapped, HashKey::kSourceIp), HashClient(v4, HashKey::kSourceIp));
  EXPECT_EQ(HashClient(mapped, HashKey::kSourceIpPort), HashClient(v4, HashKey::kSourceIpPort));
  EXPECT_NE(HashClient(v6, HashKey::kSourceIp), HashClient(v4, HashKey::kSourceIp));
  auto other_port = v4;
  other_port.set_port(5001);
  EXPECT_EQ(HashClient(other_port, HashKey::kSourceIp), HashClient(v4, HashKey::kSourceIp));
  EXPECT_NE(HashClient(other_port, HashKey::kSourceIpPort), HashClient(v4, HashKey::kSourceIpPort));
}

// --- round_robin ---

TEST(RoundRobinBalancer, CyclesInScheduleOrder) {
  auto b = Make(BalanceKind::kRoundRobin, MakePool(3));
  std::vector<int> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(b->Pick(Client(0), {}));
  EXPECT_THAT(picks, ElementsAre(0, 1, 2, 0, 1, 2));
}

TEST(RoundRobinBalancer, WeightsAreExactOverACycleAndInterleaved) {
  RoundRobinBalancer b(MakePool({3, 1}));
  EXPECT_THAT(b.schedule(), ElementsAre(0, 1, 0, 0));
  auto weighted = Make(BalanceKind::kRoundRobin, MakePool({1, 2, 3}));
  const auto counts = CountPicks(*weighted, 600);
  EXPECT_EQ(counts.at(0), 100);
  EXPECT_EQ(counts.at(1), 200);
  EXPECT_EQ(counts.at(2), 300);
  // Common factors do not lengthen the cycle.
  EXPECT_EQ(RoundRobinBalancer(MakePool({100, 200, 300})).schedule().size(), 6u);
}

TEST(RoundRobinBalancer, HugeWeightsAreScaled) {
  RoundRobinBalancer b(MakePool({4000000000u, 1, 2000000000u}));
  const auto& s = b.schedule();
  EXPECT_LE(s.size(), kMaxWeightedSchedule + 3);
  std::map<int, int> counts;
  for (int i : s) ++counts[i];
  EXPECT_EQ(counts.at(1), 1);
  EXPECT_NEAR(static_cast<double>(counts.at(0)) / counts.at(2), 2.0, 0.01);
}

TEST(RoundRobinBalancer, UnhealthyShareGoesToTheOthersByWeight) {
  auto pool = MakePool({1, 1, 2});
  auto b = Make(BalanceKind::kRoundRobin, pool);
  pool[0]->healthy = false;
  const auto counts = CountPicks(*b, 3000);
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_NEAR(counts.at(2) / 3000.0, 2.0 / 3, 0.01);
}

TEST(RoundRobinBalancer, ExactSharesAcrossThreads) {
  auto b = Make(BalanceKind::kRoundRobin, MakePool({1, 2, 3, 4}));
  constexpr int kThreads = 4, kPerThread = 10000;  // 40000 = 4000 full cycles of 10
  std::vector<std::map<int, int>> counts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) ++counts[t][b->Pick(Client(i), {})];
    });
  }
  for (auto& t : threads) t.join();
  std::map<int, int> total;
  for (const auto& c : counts) {
    for (auto [backend, n] : c) total[backend] += n;
  }
  EXPECT_EQ(total[0], 4000);
  EXPECT_EQ(total[1], 8000);
  EXPECT_EQ(total[2], 12000);
  EXPECT_EQ(total[3], 16000);
}

// --- least_conn ---

TEST(LeastConnBalancer, ChoosesTheLeastActive) {
  auto pool = MakePool(4);
  auto b = Make(BalanceKind::kLeastConn, pool);
  pool[0]->active = 5;
  pool[1]->active = 3;
  pool[2]->active = 1;
  pool[3]->active = 4;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b->Pick(Client(i), {}), 2);
  EXPECT_EQ(b->Pick(Client(0), {false, false, true}), 1);  // tried: next least
  pool[1]->healthy = false;
  EXPECT_EQ(b->Pick(Client(0), {false, false, true}), 3);
}

TEST(LeastConnBalancer, ComparesActivePerWeight) {
  auto pool = MakePool({1, 4});
  auto b = Make(BalanceKind::kLeastConn, pool);
  pool[0]->active = 2;  // 2 per unit of weight
  pool[1]->active = 6;  // 1.5
  EXPECT_EQ(b->Pick(Client(0), {}), 1);
  pool[1]->active = 10;  // 2.5
  EXPECT_EQ(b->Pick(Client(0), {}), 0);
}

TEST(LeastConnBalancer, SpreadsTiesAndBalancesWithAccounting) {
  auto pool = MakePool({1, 1, 2});
  auto b = Make(BalanceKind::kLeastConn, pool);
  // All idle: ties rotate instead of all going to backend 0.
  EXPECT_EQ(CountPicks(*b, 30).size(), 3u);
  // Connections that stay open: the counts follow the weights.
  for (int i = 0; i < 400; ++i) pool[b->Pick(Client(i), {})]->active++;
  EXPECT_EQ(pool[0]->active, 100);
  EXPECT_EQ(pool[1]->active, 100);
  EXPECT_EQ(pool[2]->active, 200);
}

// --- random_two ---

TEST(RandomTwoBalancer, IdlePoolFollowsTheWeights) {
  auto b = Make(BalanceKind::kRandomTwo, MakePool({1, 1, 2}));
  const auto counts = CountPicks(*b, 40000);
  EXPECT_NEAR(counts.at(0) / 40000.0, 0.25, 0.02);
  EXPECT_NEAR(counts.at(1) / 40000.0, 0.25, 0.02);
  EXPECT_NEAR(counts.at(2) / 40000.0, 0.50, 0.02);
}

TEST(RandomTwoBalancer, AvoidsTheLoadedBackend) {
  auto pool = MakePool(3);
  auto b = Make(BalanceKind::kRandomTwo, pool);
  pool[0]->active = 100;
  const auto counts = CountPicks(*b, 30000);
  // Backend 0 wins only when both candidates are it, which the redraws make very rare.
  EXPECT_LT(counts.count(0) ? counts.at(0) : 0, 300);
  EXPECT_NEAR(counts.at(1) / 30000.0, 0.5, 0.03);
}

TEST(RandomTwoBalancer, KeepsLoadEvenWithAccounting) {
  auto pool = MakePool(10);
  auto b = Make(BalanceKind::kRandomTwo, pool);
  for (int i = 0; i < 10000; ++i) pool[b->Pick(Client(i), {})]->active++;
  int64_t lo = 1 << 30, hi = 0;
  for (auto& backend : pool) {
    lo = std::min<int64_t>(lo, backend->active);
    hi = std::max<int64_t>(hi, backend->active);
  }
  // Power of two choices keeps the gap tiny (random choice alone: ~±100 around 1000).
  EXPECT_LE(hi - lo, 10);
}

TEST(RandomTwoBalancer, MostlyDownPoolStillFindsTheEligible) {
  auto pool = MakePool(100);
  auto b = Make(BalanceKind::kRandomTwo, pool);
  for (int i = 0; i < 100; ++i) pool[i]->healthy = i == 42 || i == 77;
  const auto counts = CountPicks(*b, 2000);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_GT(counts.at(42), 500);
  EXPECT_GT(counts.at(77), 500);
}

}  // namespace
}  // namespace edge::l4
