// When 1 of N backends goes down, which moves fewer clients: skipping it in the Maglev table's
// probe order (MaglevBalancer with Backend::healthy false: what lb4 does), or rebuilding the table
// without it? Measured over many clients and printed; the assertions hold the conclusion.
//
// Skip moves exactly the failed backend's clients (each to the owner of the next slot in table
// order), and when it returns exactly those clients come back. Rebuild also moves some clients
// of healthy backends (Maglev's permutations shift when a backend leaves the population), and
// moves them again when it returns.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_format.h"
#include "l4/balancer/maglev_balancer.h"

namespace edge::l4 {
namespace {

constexpr int kClients = 200'000;
constexpr uint32_t kTableSize = 65537;

net::SocketAddress ClientAt(int i) {
  const uint32_t ip = 0x0a000000u + static_cast<uint32_t>(i);  // 10.0.0.0 + i: all distinct
  const char bytes[4] = {char(ip >> 24), char(ip >> 16), char(ip >> 8), char(ip)};
  return net::SocketAddress::FromBytes(std::string_view(bytes, 4), 40000);
}

BackendList MakeBackends(int n) {
  BackendList out;
  for (int i = 0; i < n; ++i) {
    auto addr = net::SocketAddress::Parse(absl::StrFormat("10.1.%d.%d:8000", i / 250, i % 250 + 1));
    out.push_back(std::make_shared<Backend>(*addr, 1));
  }
  return out;
}

std::unique_ptr<MaglevBalancer> Maglev(const BackendList& backends) {
  auto b = MaglevBalancer::Create(backends, HashKey::kSourceIp, kTableSize);
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(*b);
}

// Backend keys picked for every client.
std::vector<const Backend*> Assign(MaglevBalancer& balancer, const BackendList& backends) {
  std::vector<const Backend*> out(kClients);
  for (int i = 0; i < kClients; ++i) out[i] = backends[balancer.Pick(ClientAt(i), {})].get();
  return out;
}

double MaxOverMean(const std::vector<const Backend*>& assignment, const BackendList& alive) {
  std::unordered_map<const Backend*, int> load;
  for (const auto& b : alive) load[b.get()] = 0;
  for (const Backend* b : assignment) ++load[b];
  int most = 0;
  for (const auto& [b, n] : load) most = std::max(most, n);
  return most / (double(kClients) / double(alive.size()));
}

struct Measure {
  int on_failed = 0;      // clients that must move: they were on the failed backend
  int moved_skip = 0;     // clients whose backend changed with skipping
  int moved_rebuild = 0;  // ... with a rebuilt table
  int back_skip = 0;      // moves when the backend returns
  int back_rebuild = 0;
  double imbalance_skip = 0;  // max / mean clients per surviving backend
  double imbalance_rebuild = 0;
};

Measure MeasureFailure(int n, int failed) {
  BackendList backends = MakeBackends(n);
  auto balancer = Maglev(backends);
  const std::vector<const Backend*> before = Assign(*balancer, backends);
  BackendList alive;
  for (int i = 0; i < n; ++i) {
    if (i != failed) alive.push_back(backends[i]);
  }
  Measure m;
  for (const Backend* b : before) m.on_failed += b == backends[failed].get() ? 1 : 0;

  backends[failed]->healthy = false;
  const std::vector<const Backend*> skip = Assign(*balancer, backends);
  backends[failed]->healthy = true;
  const std::vector<const Backend*> skip_back = Assign(*balancer, backends);

  auto rebuilt = Maglev(alive);
  const std::vector<const Backend*> rebuild = Assign(*rebuilt, alive);
  for (int i = 0; i < kClients; ++i) {
    m.moved_skip += skip[i] != before[i] ? 1 : 0;
    m.moved_rebuild += rebuild[i] != before[i] ? 1 : 0;
    m.back_skip += skip_back[i] != skip[i] ? 1 : 0;
    m.back_rebuild += before[i] != rebuild[i] ? 1 : 0;  // the full table again is `before`
  }
  m.imbalance_skip = MaxOverMean(skip, alive);
  m.imbalance_rebuild = MaxOverMean(rebuild, alive);
  return m;
}

TEST(MaglevDisruption, SkippingTheUnhealthyMovesFewerClientsThanRebuilding) {
  std::printf("%d clients (distinct source IPs), table %u, 1 backend down\n", kClients, kTableSize);
  std::printf("%5s %9s %11s %14s %16s %14s %16s\n", "N", "on_down", "moved_skip", "moved_rebuild",
              "rebuild_extra%", "max/mean_skip", "max/mean_rebuild");
  for (int n : {3, 5, 10, 20, 50, 100}) {
    Measure total;
    const int trials = std::min(n, 5);
    for (int t = 0; t < trials; ++t) {
      const Measure m = MeasureFailure(n, (t * 7) % n);
      // Skip: exactly the failed backend's clients move, and exactly they come back.
      EXPECT_EQ(m.moved_skip, m.on_failed) << n;
      EXPECT_EQ(m.back_skip, m.on_failed) << n;
      EXPECT_GE(m.moved_rebuild, m.moved_skip) << n;
      total.on_failed += m.on_failed;
      total.moved_skip += m.moved_skip;
      total.moved_rebuild += m.moved_rebuild;
      total.imbalance_skip = std::max(total.imbalance_skip, m.imbalance_skip);
      total.imbalance_rebuild = std::max(total.imbalance_rebuild, m.imbalance_rebuild);
    }
    std::printf("%5d %9d %11d %14d %15.2f%% %14.3f %16.3f\n", n, total.on_failed / trials,
                total.moved_skip / trials, total.moved_rebuild / trials,
                100.0 * (total.moved_rebuild - total.moved_skip) / trials / kClients,
                total.imbalance_skip, total.imbalance_rebuild);
  }
}

}  // namespace
}  // namespace edge::l4
