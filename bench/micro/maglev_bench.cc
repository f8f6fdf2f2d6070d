// Maglev table build and lookup, and every balancer's Pick. The Maglev paper (NSDI 2016, 5.3)
// reports 1.8 ms to build a 65537-slot table for 1000 backends; lookups sit on every new
// connection's path.

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/hash/hash.h"
#include "common/hash/maglev.h"
#include "l4/balancer/balancer.h"
#include "l4/balancer/client_hash.h"

namespace edge {
namespace {

std::vector<hash::MaglevBackend> MaglevBackends(int n, bool weighted) {
  std::vector<hash::MaglevBackend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({absl::StrFormat("10.%d.%d.1:8000", i / 256, i % 256),
                   weighted ? 1u + static_cast<uint32_t>(i % 5) : 1u});
  }
  return out;
}

// Args: backends, table size, weighted (0/1).
void BM_MaglevBuild(benchmark::State& state) {
  const auto backends = MaglevBackends(state.range(0), state.range(2) != 0);
  const auto size = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    auto table = hash::MaglevTable::Build(backends, size);
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_MaglevBuild)
    ->ArgNames({"backends", "size", "weighted"})
    ->Args({10, 65537, 0})
    ->Args({100, 65537, 0})
    ->Args({1000, 65537, 0})
    ->Args({1000, 65537, 1})
    ->Args({1000, 655373, 0})
    ->Unit(benchmark::kMillisecond);

// Lookup of a precomputed hash: the table access alone.
void BM_MaglevLookup(benchmark::State& state) {
  const auto table = *hash::MaglevTable::Build(MaglevBackends(state.range(0), false), 65537);
  std::vector<uint64_t> hashes(4096);
  std::mt19937_64 rng(1);
  for (auto& h : hashes) h = rng();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.Lookup(hashes[i++ & 4095]));
  }
}
BENCHMARK(BM_MaglevLookup)->Arg(10)->Arg(1000);

void BM_HashClient(benchmark::State& state) {
  const auto client = *net::SocketAddress::Parse("198.51.100.23:40123");
  for (auto _ : state) {
    benchmark::DoNotOptimize(l4::HashClient(client, l4::HashKey::kSourceIpPort));
  }
}
BENCHMARK(BM_HashClient);

std::vector<std::shared_ptr<l4::Backend>> Pool(int n) {
  std::vector<std::shared_ptr<l4::Backend>> pool;
  for (int i = 0; i < n; ++i) {
    auto addr = net::SocketAddress::Parse(absl::StrFormat("10.0.%d.%d:8000", i / 250, i % 250 + 1));
    pool.push_back(std::make_shared<l4::Backend>(*addr, 1 + i % 3));
  }
  return pool;
}

std::vector<net::SocketAddress> Clients() {
  std::vector<net::SocketAddress> clients;
  for (int i = 0; i < 4096; ++i) {
    clients.push_back(net::SocketAddress::FromBytes(
        std::string({char(192), char(0), char(i >> 8), char(i & 255)}), 40000 + i));
  }
  return clients;
}

// Args: backends, percent of them unhealthy. Runs on 1 and 2 threads sharing one balancer, as lb4's
// workers do.
void BM_Pick(benchmark::State& state, l4::BalanceKind kind) {
  static std::unique_ptr<l4::Balancer> balancer;
  static std::vector<std::shared_ptr<l4::Backend>> pool;
  if (state.thread_index() == 0) {
    pool = Pool(state.range(0));
    for (size_t i = 0; i < pool.size(); ++i) {
      pool[i]->healthy = static_cast<int64_t>(i * 100 / pool.size()) >= state.range(1);
      pool[i]->active = static_cast<int64_t>(i % 7);
    }
    balancer = *l4::MakeBalancer({.kind = kind}, pool);
  }
  const auto clients = Clients();
  const std::vector<bool> none;
  size_t i = 0;
  // Google Benchmark starts every thread's timing loop after thread 0's setup above.
  for (auto _ : state) {
    benchmark::DoNotOptimize(balancer->Pick(clients[i++ & 4095], none));
  }
  if (state.thread_index() == 0) state.SetItemsProcessed(state.iterations());
}
#define EDGE_PICK_BENCH(kind)                             \
  BENCHMARK_CAPTURE(BM_Pick, kind, l4::BalanceKind::kind) \
      ->ArgNames({"backends", "unhealthy%"})              \
      ->Args({10, 0})                                     \
      ->Args({100, 0})                                    \
      ->Args({100, 30})                                   \
      ->Threads(1)                                        \
      ->Threads(2)
EDGE_PICK_BENCH(kMaglev);
EDGE_PICK_BENCH(kRoundRobin);
EDGE_PICK_BENCH(kLeastConn);
EDGE_PICK_BENCH(kRandomTwo);

}  // namespace
}  // namespace edge

BENCHMARK_MAIN();
