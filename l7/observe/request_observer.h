#pragma once
// RequestObserver: the one place a finished request is reported to, on gw7's loop thread. It
// feeds the access log (with the route's sample rate) and the usage analytics. GatewayServer owns
// one for the process's life; a reload reconfigures it (sample rates, redact list), the log file
// stays open (SIGUSR1 reopens it).
//
// The request path calls OnRequestEnd exactly once per request, when it ends however it ends
// (response sent, client gone, timeout, refusal), with what it knows then.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics/prometheus.h"
#include "l7/config/gateway_config.h"
#include "l7/observe/access_log.h"
#include "l7/observe/access_record.h"
#include "l7/observe/usage_tracker.h"

namespace edge::l7 {

class RequestObserver {
 public:
  // Opens the access log ([gw7.access_log] path): a file that cannot be opened is an error.
  static absl::StatusOr<std::unique_ptr<RequestObserver>> Create(const GatewayConfig& config);

  // A reload: per-route and global sample rates, the redact list. A changed path is reported
  // (it takes effect at restart).
  void Reconfigure(const GatewayConfig& config);

  // Loop thread: one finished request.
  void OnRequestEnd(const AccessRecord& record);

  // The access log's families: gw7_access_log_lines_total{result=written|dropped|sampled_out|
  // write_error}.
  void WriteMetrics(metrics::PrometheusText* out) const;

  AccessLog& access_log() { return *access_log_; }
  UsageTracker& usage() { return usage_; }
  // GET /usage: the usage windows at the wall clock's now.
  std::string RenderUsage() const;

 private:
  explicit RequestObserver(std::unique_ptr<AccessLog> log) : access_log_(std::move(log)) {}
  void SetRates(const GatewayConfig& config);

  std::unique_ptr<AccessLog> access_log_;
  double default_sample_ = 1.0;
  std::map<std::string, double, std::less<>> route_sample_;  // routes with access_log_sample
  UsageTracker usage_;
};

}  // namespace edge::l7
