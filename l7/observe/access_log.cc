#include "l7/observe/access_log.h"

#include <ctime>

#include "absl/strings/str_format.h"
#include "common/log/json_line.h"

namespace edge::l7 {
namespace {

// "2026-12-02T17:02:44.123456Z" (UTC, microseconds): fixed width, so readers can slice it.
std::string FormatTime(int64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  const int64_t micros = (unix_ns % 1'000'000'000) / 1000;
  struct tm tm;
  gmtime_r(&seconds, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::optional<int64_t> Micros(std::optional<int64_t> ns) {
  if (!ns) return std::nullopt;
  return *ns / 1000;
}

// The first 16 hex digits of a trace id as a number (uniform for random ids); nullopt when the
// record has none.
std::optional<uint64_t> TraceKey(std::string_view trace_id) {
  if (trace_id.size() < 16) return std::nullopt;
  uint64_t key = 0;
  for (size_t i = 0; i < 16; ++i) {
    const char c = trace_id[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    key = key << 4 | static_cast<uint64_t>(v);
  }
  return key;
}

}  // namespace

std::string_view RequestEndName(RequestEnd end) {
  switch (end) {
    case RequestEnd::kCompleted:
      return "completed";
    case RequestEnd::kClientGone:
      return "client_gone";
    case RequestEnd::kTimeout:
      return "timeout";
    case RequestEnd::kRefused:
      return "refused";
    case RequestEnd::kUpstreamError:
      return "upstream_error";
    case RequestEnd::kClientError:
      return "client_error";
  }
  return "unknown";
}

std::string FormatAccessRecord(const AccessRecord& r, const QueryRedactor& redactor) {
  std::string line;
  line.reserve(512);
  log::JsonLine j(&line);
  j.String("time", FormatTime(r.start_unix_ns))
      .StringOrNull("request_id", r.request_id)
      .StringOrNull("trace_id", r.trace_id)
      .StringOrNull("span_id", r.span_id);
  if (r.client.valid()) {
    j.String("client", r.client.ToString());
  } else {
    j.Null("client");
  }
  j.StringOrNull("consumer", r.consumer)
      .StringOrNull("route", r.route)
      .StringOrNull("upstream", r.upstream)
      .StringOrNull("upstream_server", r.upstream_server)
      .String("method", r.method)
      .StringOrNull("host", r.host)
      .String("path", redactor.empty() ? std::string(r.target) : redactor.Redact(r.target))
      .String("protocol", r.protocol)
      .Int("status", r.status)
      .Int("bytes_in", static_cast<int64_t>(r.bytes_in))
      .Int("bytes_out", static_cast<int64_t>(r.bytes_out))
      .Int("duration_us", r.duration_ns / 1000)
      .OptionalInt("upstream_connect_us", Micros(r.upstream_connect_ns))
      .OptionalInt("upstream_first_byte_us", Micros(r.upstream_first_byte_ns))
      .Int("filters_us", r.filters_ns / 1000)
      .StringOrNull("auth", r.auth)
      .StringOrNull("rate_limit", r.rate_limit)
      .StringOrNull("cache", r.cache)
      .Int("retries", r.retries)
      .String("end", RequestEndName(r.end))
      .StringOrNull("user_agent", r.user_agent)
      .Finish();
  return line;
}

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const log::AccessLogConfig& config) {
  std::unique_ptr<log::LineSink> sink;
  if (config.enabled()) {
    auto opened = log::LineSink::Open(config.path, config.queue_bytes);
    if (!opened.ok()) return opened.status();
    sink = std::move(*opened);
  }
  return std::make_unique<AccessLog>(config, std::move(sink));
}

AccessLog::AccessLog(const log::AccessLogConfig& config, std::unique_ptr<log::LineSink> sink)
    : config_(config),
      redactor_(config.redact),
      sink_(std::move(sink)),
      sampler_(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this)) ^ 0x9E3779B97F4A7C15ULL) {}

void AccessLog::Reconfigure(const log::AccessLogConfig& config) {
  config_.sample = config.sample;
  config_.redact = config.redact;
  redactor_ = QueryRedactor(config.redact);
}

bool AccessLog::Write(const AccessRecord& record, double sample) {
  if (!sink_) return false;
  const std::optional<uint64_t> key = TraceKey(record.trace_id);
  const bool keep = key ? log::Sampler::KeepKey(sample, *key) : sampler_.Keep(sample);
  if (!keep) {
    ++sampled_out_;
    return false;
  }
  return sink_->Submit(FormatAccessRecord(record, redactor_));
}

}  // namespace edge::l7
