#pragma once
// Counters of name discovery, one set per process: lb4 and gw7 each run one Discovery, and their
// admin endpoints (on another thread) render these without reaching into it.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/metrics/prometheus.h"

namespace edge::dns {

class DnsStats {
 public:
  struct TargetState {
    size_t endpoints = 0;    // of the answer in force (the last good one)
    bool failing = false;    // the last resolution failed: the answer in force is older
    std::string last_error;  // of the last failure, "" if none
  };

  std::atomic<uint64_t> resolutions_ok{0};
  std::atomic<uint64_t> resolutions_failed{0};  // each one kept the last good answer
  std::atomic<uint64_t> changes{0};             // answers that changed a server list

  void SetTarget(const std::string& target, TargetState state);
  void ForgetTarget(const std::string& target);
  std::map<std::string, TargetState> targets() const;

  // Families `<prefix>_dns_resolutions_total{result}`, `<prefix>_dns_changes_total`,
  // `<prefix>_dns_target_endpoints{target}` and `<prefix>_dns_target_failing{target}`; nothing
  // when no name was ever resolved (configs without names keep their /metrics unchanged).
  void Render(metrics::PrometheusText* out, std::string_view prefix) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, TargetState> targets_;  // guarded by mu_
};

// The process's counters.
DnsStats& ProcessDnsStats();

}  // namespace edge::dns
