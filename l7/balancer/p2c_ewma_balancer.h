#pragma once
// Power of two choices over a peak-EWMA of latency (Finagle's and Linkerd's "fastest response"):
// each pick takes two distinct eligible servers at random and sends to the one with the lower
// cost = latency_ewma x (in_flight + 1) / weight.
//
//  - The EWMA is time-weighted: a sample taken dt after the previous one weighs 1 - e^(-dt/tau),
//    so the average forgets at the same rate whatever the request rate.
//  - It is a peak EWMA: a sample above the average replaces it at once, so a server that slows
//    down loses traffic immediately and earns it back gradually.
//  - It decays toward zero between samples (e^(-dt/tau)), so a server that was slow once is tried
//    again later instead of starving forever.
//  - A server with no sample yet counts as the median of the servers that have one, so a new or
//    recovered server is tried without being flooded.
//  - A failed request counts as a sample of at least kFailurePenalty, so a server that fails fast
//    does not look fast.
// Two random choices rather than the global minimum keep many gw7 processes, each with its own
// view, from herding onto the same momentarily fastest server.

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "l7/balancer/upstream_balancer.h"

namespace edge::l7 {

struct P2cEwmaOptions {
  absl::Duration decay = absl::Seconds(10);  // tau of the EWMA
  uint64_t seed = 0;                         // 0: seeded from std::random_device
  std::function<int64_t()> now_ns;           // monotonic clock; empty: steady_clock
};

class P2cEwmaBalancer final : public UpstreamBalancer {
 public:
  static constexpr int64_t kFailurePenaltyNs = 1'000'000'000;  // 1s

  P2cEwmaBalancer(std::vector<uint32_t> weights, P2cEwmaOptions options = {});
  int Pick(std::string_view key, const std::vector<bool>& excluded) override;
  void OnRequestStart(int server) override;
  void OnRequestEnd(int server, int64_t latency_ns, bool success) override;
  void SetWeights(const std::vector<uint32_t>& weights) override;

  // The server's current cost (what Pick compares); for tests and /status.
  double Cost(int server);
  // The decayed EWMA in nanoseconds, or -1 without samples.
  double LatencyEwmaNs(int server);

 private:
  struct Server {
    int64_t weight = 1;
    int64_t in_flight = 0;
    bool has_sample = false;
    double ewma_ns = 0;
    int64_t stamp_ns = 0;  // time of the last update of ewma_ns
  };
  int64_t Now() const;
  // Folds a sample into the server's EWMA at time `now`.
  void Observe(Server& s, double sample_ns, int64_t now);
  double Decayed(const Server& s, int64_t now) const;
  double CostAt(size_t i, int64_t now, double median);
  double MedianEwma(int64_t now);

  std::vector<Server> servers_;
  P2cEwmaOptions options_;
  double tau_ns_;
  std::mt19937_64 rng_;
  std::vector<int> eligible_;  // scratch for Pick
};

}  // namespace edge::l7
