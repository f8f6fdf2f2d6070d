#pragma once
// AccessLog: gw7's access log, one JSON line per request ([gw7.access_log]).
//
// Line format (fields always present, in this order; null when they did not apply):
//   {"time":"2026-12-02T17:02:44.123456Z","request_id":"...","trace_id":"...","span_id":"...",
//    "client":"203.0.113.7:51234","consumer":"alice","route":"products","upstream":"products",
//    "upstream_server":"127.0.0.1:9101","method":"GET","host":"api.example.com",
//    "path":"/v1/products?api_key=REDACTED","protocol":"HTTP/1.1","status":200,"bytes_in":312,
//    "bytes_out":2048,"duration_us":1834,"upstream_connect_us":210,"upstream_first_byte_us":1400,
//    "filters_us":35,"auth":"ok","rate_limit":"allowed","cache":null,"retries":0,
//    "end":"completed","user_agent":"curl/7.88.1"}
// `gw7 report` reads exactly this format.
//
// Sampling: a route's `access_log_sample`, else [gw7.access_log] sample. The decision is taken on
// the trace id (log::Sampler::KeepKey), so a trace that one gw7 logs, every gw7 with the same rate
// logs too. Lines are written by a LineSink's thread: a full queue drops and counts them.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/log/access_log_config.h"
#include "common/log/line_sink.h"
#include "common/log/sampler.h"
#include "l7/observe/access_record.h"
#include "l7/observe/query_redactor.h"

namespace edge::l7 {

// The record as one JSON line (without the newline), its target redacted.
std::string FormatAccessRecord(const AccessRecord& record, const QueryRedactor& redactor);
// The same into *out (cleared first): the request path reuses one buffer, so formatting a line
// allocates nothing in the common case (no query to redact).
void FormatAccessRecordTo(const AccessRecord& record, const QueryRedactor& redactor,
                          std::string* out);

class AccessLog {
 public:
  // Opens the sink (a file that cannot be opened is an error). "off" gives a log that writes
  // nothing.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const log::AccessLogConfig& config);
  // For tests: lines go to `sink`.
  AccessLog(const log::AccessLogConfig& config, std::unique_ptr<log::LineSink> sink);

  bool enabled() const { return sink_ != nullptr; }
  const log::AccessLogConfig& config() const { return config_; }
  // A reload's sample rate and redact list (the path stays what it was at start).
  void Reconfigure(const log::AccessLogConfig& config);

  // Formats and queues the record when sampled at `sample` (the route's rate or the global one).
  // Event-loop thread. Returns whether a line was queued.
  bool Write(const AccessRecord& record, double sample);

  uint64_t sampled_out() const { return sampled_out_; }
  log::LineSinkCounters sink_counters() const {
    return sink_ ? sink_->counters() : log::LineSinkCounters{};
  }
  log::LineSink* sink() { return sink_.get(); }

 private:
  log::AccessLogConfig config_;
  QueryRedactor redactor_;
  std::unique_ptr<log::LineSink> sink_;
  log::Sampler sampler_;  // when a record has no trace id
  uint64_t sampled_out_ = 0;
  std::string line_;  // the line being formatted, kept for its capacity
};

}  // namespace edge::l7
