#include "l7/observe/request_observer.h"

#include <time.h>

#include "common/log.h"

namespace edge::l7 {

absl::StatusOr<std::unique_ptr<RequestObserver>> RequestObserver::Create(
    const GatewayConfig& config) {
  auto log = AccessLog::Open(config.access_log);
  if (!log.ok()) {
    return absl::Status(log.status().code(),
                        "[gw7.access_log] " + std::string(log.status().message()));
  }
  std::unique_ptr<RequestObserver> observer(new RequestObserver(std::move(*log)));
  observer->SetRates(config);
  return observer;
}

void RequestObserver::SetRates(const GatewayConfig& config) {
  default_sample_ = config.access_log.sample;
  route_sample_.clear();
  for (const RouteConfig& route : config.routes) {
    if (route.access_log_sample) route_sample_[route.name] = *route.access_log_sample;
  }
}

void RequestObserver::Reconfigure(const GatewayConfig& config) {
  if (config.access_log.path != access_log_->config().path) {
    LOG_WARN("reload: [gw7.access_log] path %s takes effect at restart (still %s)",
             config.access_log.path, access_log_->config().path);
  }
  access_log_->Reconfigure(config.access_log);
  SetRates(config);
}

void RequestObserver::OnRequestEnd(const AccessRecord& record) {
  // The request's own end time: no clock read here, and a test can replay records.
  usage_.Record(record, record.start_unix_ns + record.duration_ns);
  if (access_log_->enabled()) {
    auto it = route_sample_.find(record.route);
    access_log_->Write(record, it != route_sample_.end() ? it->second : default_sample_);
  }
}

std::string RequestObserver::RenderUsage() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return usage_.RenderJson(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

void RequestObserver::WriteMetrics(metrics::PrometheusText* out) const {
  const log::LineSinkCounters c = access_log_->sink_counters();
  out->Family("gw7_access_log_lines_total", "counter",
              "Access log lines by result: written, dropped (the writer's queue was full), "
              "sampled_out, write_error.");
  out->Sample("gw7_access_log_lines_total", {{"result", "written"}},
              static_cast<double>(c.written));
  out->Sample("gw7_access_log_lines_total", {{"result", "dropped"}},
              static_cast<double>(c.dropped));
  out->Sample("gw7_access_log_lines_total", {{"result", "sampled_out"}},
              static_cast<double>(access_log_->sampled_out()));
  out->Sample("gw7_access_log_lines_total", {{"result", "write_error"}},
              static_cast<double>(c.write_errors));
  out->Family("gw7_access_log_reopens_total", "counter", "Access log files reopened (SIGUSR1).");
  out->Sample("gw7_access_log_reopens_total", {}, static_cast<double>(c.reopens));
}

}  // namespace edge::l7
