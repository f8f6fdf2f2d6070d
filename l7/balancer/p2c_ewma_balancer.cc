#include "l7/balancer/p2c_ewma_balancer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace edge::l7 {

P2cEwmaBalancer::P2cEwmaBalancer(std::vector<uint32_t> weights, P2cEwmaOptions options)
    : servers_(weights.size()),
      options_(std::move(options)),
      tau_ns_(std::max(1.0, absl::ToDoubleNanoseconds(options_.decay))),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {
  for (size_t i = 0; i < weights.size(); ++i) {
    servers_[i].weight = std::max<int64_t>(weights[i], 1);
  }
  eligible_.reserve(servers_.size());
}

void P2cEwmaBalancer::SetWeights(const std::vector<uint32_t>& weights) {
  for (size_t i = 0; i < servers_.size() && i < weights.size(); ++i) {
    servers_[i].weight = std::max<int64_t>(weights[i], 1);
  }
}

int64_t P2cEwmaBalancer::Now() const {
  if (options_.now_ns) return options_.now_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Between samples the average decays toward zero (read as if the server had answered instantly
// all along); a sample then adds its share 1 - e^(-dt/tau), which makes the average exactly a
// time-weighted EWMA. Reading does not move the stamp, so frequent reads never shrink a sample's
// weight.
double P2cEwmaBalancer::Decayed(const Server& s, int64_t now) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(now - s.stamp_ns, 0));
  return s.ewma_ns * std::exp(-elapsed / tau_ns_);
}

void P2cEwmaBalancer::Observe(Server& s, double sample_ns, int64_t now) {
  if (!s.has_sample) {
    s.has_sample = true;
    s.ewma_ns = sample_ns;
    s.stamp_ns = now;
    return;
  }
  const double decayed = Decayed(s, now);
  const double elapsed = static_cast<double>(std::max<int64_t>(now - s.stamp_ns, 0));
  s.stamp_ns = std::max(now, s.stamp_ns);
  if (sample_ns > decayed) {
    s.ewma_ns = sample_ns;  // peak: slowdowns count at once
    return;
  }
  s.ewma_ns = decayed + sample_ns * (1 - std::exp(-elapsed / tau_ns_));
}

double P2cEwmaBalancer::MedianEwma(int64_t now) {
  std::vector<double> values;
  values.reserve(servers_.size());
  for (const Server& s : servers_) {
    if (s.has_sample) values.push_back(Decayed(s, now));
  }
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(mid), values.end());
  return values[mid];
}

double P2cEwmaBalancer::CostAt(size_t i, int64_t now, double median) {
  const Server& s = servers_[i];
  const double latency = s.has_sample ? Decayed(s, now) : median;
  // +1 ns keeps in_flight meaningful when every latency has decayed to zero.
  return (latency + 1) * static_cast<double>(s.in_flight + 1) / static_cast<double>(s.weight);
}

int P2cEwmaBalancer::Pick(std::string_view /*key*/, const std::vector<bool>& excluded) {
  eligible_.clear();
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (!IsExcluded(excluded, i)) eligible_.push_back(static_cast<int>(i));
  }
  if (eligible_.empty()) return -1;
  if (eligible_.size() == 1) return eligible_[0];
  const size_t m = eligible_.size();
  const size_t a = std::uniform_int_distribution<size_t>(0, m - 1)(rng_);
  size_t b = std::uniform_int_distribution<size_t>(0, m - 2)(rng_);
  if (b >= a) ++b;
  const size_t ia = static_cast<size_t>(eligible_[a]);
  const size_t ib = static_cast<size_t>(eligible_[b]);
  const int64_t now = Now();
  const bool need_median = !servers_[ia].has_sample || !servers_[ib].has_sample;
  const double median = need_median ? MedianEwma(now) : 0;
  const double cost_a = CostAt(ia, now, median);
  const double cost_b = CostAt(ib, now, median);
  // Equal costs go to the first of the random pair, not to the lower index: otherwise a server
  // without samples, which costs the median, would lose every tie against a lone sampled server
  // of the same cost and never be tried.
  return static_cast<int>(cost_b < cost_a ? ib : ia);
}

void P2cEwmaBalancer::OnRequestStart(int server) {
  if (server < 0 || static_cast<size_t>(server) >= servers_.size()) return;
  ++servers_[static_cast<size_t>(server)].in_flight;
}

void P2cEwmaBalancer::OnRequestEnd(int server, int64_t latency_ns, bool success) {
  if (server < 0 || static_cast<size_t>(server) >= servers_.size()) return;
  Server& s = servers_[static_cast<size_t>(server)];
  if (s.in_flight > 0) --s.in_flight;
  double sample = static_cast<double>(std::max<int64_t>(latency_ns, 0));
  if (!success) sample = std::max(sample, static_cast<double>(kFailurePenaltyNs));
  Observe(s, sample, Now());
}

double P2cEwmaBalancer::Cost(int server) {
  const int64_t now = Now();
  const size_t i = static_cast<size_t>(server);
  return CostAt(i, now, servers_[i].has_sample ? 0 : MedianEwma(now));
}

double P2cEwmaBalancer::LatencyEwmaNs(int server) {
  const Server& s = servers_[static_cast<size_t>(server)];
  return s.has_sample ? Decayed(s, Now()) : -1;
}

}  // namespace edge::l7
