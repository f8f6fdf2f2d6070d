// The local rate limiter's check (GCRA on the in-process store): one hot key, and many distinct
// keys churning through a store capped below their number (hash, LRU move, eviction).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "l7/filters/ratelimit/gcra.h"
#include "l7/filters/ratelimit/local_rate_store.h"

namespace edge::l7 {
namespace {

void BM_GcraCheck(benchmark::State& state) {
  const GcraPolicy policy = GcraPolicy::Make(100, absl::Minutes(1), 20);
  int64_t tat = 0;
  int64_t now = 1'000'000'000'000;
  for (auto _ : state) {
    GcraDecision d = GcraCheck(policy, tat, now);
    tat = d.allowed ? d.tat_ns : tat;
    now += 1000;
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_GcraCheck);

void BM_LocalStoreHotKey(benchmark::State& state) {
  LocalRateStore store(GcraPolicy::Make(1'000'000, absl::Seconds(1), 0), 100000);
  const std::string key = "c:consumer-1234";
  int64_t now = 1'000'000'000'000;
  for (auto _ : state) {
    GcraDecision d = store.Check(key, now);
    now += 1000;
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_LocalStoreHotKey);

// state.range(0) distinct keys in round robin through a store holding state.range(1).
void BM_LocalStoreManyKeys(benchmark::State& state) {
  LocalRateStore store(GcraPolicy::Make(100, absl::Minutes(1), 0),
                       static_cast<size_t>(state.range(1)));
  std::vector<std::string> keys;
  for (int64_t i = 0; i < state.range(0); ++i)
    keys.push_back(absl::StrFormat("ip:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255));
  size_t next = 0;
  int64_t now = 1'000'000'000'000;
  for (auto _ : state) {
    GcraDecision d = store.Check(keys[next], now);
    if (++next == keys.size()) next = 0;
    now += 1000;
    benchmark::DoNotOptimize(d);
  }
  state.counters["keys_held"] = static_cast<double>(store.size());
}
BENCHMARK(BM_LocalStoreManyKeys)->Args({10000, 100000})->Args({100000, 10000});

}  // namespace
}  // namespace edge::l7

BENCHMARK_MAIN();
