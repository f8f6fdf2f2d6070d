#include "common/dns/dns_stats.h"

#include "absl/strings/str_cat.h"

namespace edge::dns {

void DnsStats::SetTarget(const std::string& target, TargetState state) {
  std::lock_guard<std::mutex> lock(mu_);
  targets_[target] = std::move(state);
}

void DnsStats::ForgetTarget(const std::string& target) {
  std::lock_guard<std::mutex> lock(mu_);
  targets_.erase(target);
}

std::map<std::string, DnsStats::TargetState> DnsStats::targets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return targets_;
}

void DnsStats::Render(metrics::PrometheusText* out, std::string_view prefix) const {
  const uint64_t ok = resolutions_ok.load(), failed = resolutions_failed.load();
  if (ok == 0 && failed == 0) return;
  const std::string p(prefix);
  out->Family(p + "_dns_resolutions_total", "counter",
              "Resolutions of backend/server names, by result (a failure keeps the last answer).");
  out->Sample(p + "_dns_resolutions_total", {{"result", "ok"}}, static_cast<double>(ok));
  out->Sample(p + "_dns_resolutions_total", {{"result", "failed"}}, static_cast<double>(failed));
  out->Family(p + "_dns_changes_total", "counter",
              "Answers that changed a server list (applied like a reload).");
  out->Sample(p + "_dns_changes_total", {}, static_cast<double>(changes.load()));
  const auto all = targets();
  out->Family(p + "_dns_target_endpoints", "gauge", "Endpoints of each name's answer in force.");
  for (const auto& [name, state] : all) {
    out->Sample(p + "_dns_target_endpoints", {{"target", name}},
                static_cast<double>(state.endpoints));
  }
  out->Family(p + "_dns_target_failing", "gauge",
              "1 while a name's last resolution failed (its last good answer stays in force).");
  for (const auto& [name, state] : all) {
    out->Sample(p + "_dns_target_failing", {{"target", name}}, state.failing ? 1 : 0);
  }
}

DnsStats& ProcessDnsStats() {
  static DnsStats* stats = new DnsStats();  // never destroyed: admin threads may outlive main
  return *stats;
}

}  // namespace edge::dns
