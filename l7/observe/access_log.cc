#include "l7/observe/access_log.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/log/json_line.h"

namespace edge::l7 {
namespace {

// The line is written through a raw pointer into a buffer sized for the worst case first: one
// bounds computation instead of a capacity check per append (this runs for every request on the
// loop thread).
class LineWriter {
 public:
  explicit LineWriter(char* p) : begin_(p), p_(p) {}
  size_t size() const { return static_cast<size_t>(p_ - begin_); }

  void Raw(std::string_view s) {
    if (s.empty()) return;  // an empty view's data() may be null, which memcpy may not take
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Char(char c) { *p_++ = c; }
  // JSON string contents: printable ASCII other than '"' and '\\' is copied in runs; anything
  // else (rare: client bytes) takes the escaping of log::AppendJsonEscaped.
  void Escaped(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') break;
      ++i;
    }
    Raw(s.substr(0, i));
    if (i == s.size()) return;
    thread_local std::string escaped;
    escaped.clear();
    log::AppendJsonEscaped(&escaped, s.substr(i));
    Raw(escaped);
  }
  // `key` is the whole fragment before the value: `,"route":`.
  void StringOrNull(std::string_view key, std::string_view value) {
    Raw(key);
    if (value.empty()) {
      Raw("null");
      return;
    }
    String(value);
  }
  void String(std::string_view value) {
    Char('"');
    Escaped(value);
    Char('"');
  }
  void Int(std::string_view key, int64_t value) {
    Raw(key);
    p_ = absl::numbers_internal::FastIntToBuffer(value, p_);  // writes a NUL after, overwritten
  }
  void OptionalInt(std::string_view key, std::optional<int64_t> value) {
    if (value) {
      Int(key, *value);
    } else {
      Raw(key);
      Raw("null");
    }
  }
  // "2026-12-02T17:02:44.123456Z" (UTC, microseconds): fixed width, so readers can slice it.
  // The text up to the seconds is kept per thread and remade once a second.
  void Time(int64_t unix_ns) {
    if (unix_ns < 0) unix_ns = 0;
    const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
    int64_t micros = (unix_ns % 1'000'000'000) / 1000;
    thread_local time_t cached_seconds = -1;
    thread_local char cached[32];
    thread_local size_t cached_len = 0;
    if (seconds != cached_seconds) {
      struct tm tm;
      gmtime_r(&seconds, &tm);
      const std::string text =
          absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      cached_len = std::min(text.size(), sizeof cached);
      std::memcpy(cached, text.data(), cached_len);
      cached_seconds = seconds;
    }
    Raw(std::string_view(cached, cached_len));
    char digits[7] = {'0', '0', '0', '0', '0', '0', 'Z'};
    for (int i = 5; i >= 0; --i, micros /= 10) digits[i] = static_cast<char>('0' + micros % 10);
    Raw(std::string_view(digits, sizeof digits));
  }
  // "203.0.113.7:51234" / "[2001:db8::1]:443".
  void Address(const net::SocketAddress& a) {
    const sockaddr* sa = a.sockaddr_ptr();
    if (sa->sa_family == AF_INET) {
      const auto* b = reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
      for (int i = 0; i < 4; ++i) {
        if (i > 0) Char('.');
        p_ = absl::numbers_internal::FastIntToBuffer(static_cast<uint32_t>(b[i]), p_);
      }
    } else {
      char ip[INET6_ADDRSTRLEN] = {};
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, ip, sizeof ip);
      Char('[');
      Raw(ip);
      Char(']');
    }
    Char(':');
    p_ = absl::numbers_internal::FastIntToBuffer(static_cast<uint32_t>(a.port()), p_);
  }

 private:
  char* begin_;
  char* p_;
};

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
  FormatAccessRecordTo(r, redactor, &line);
  return line;
}

void FormatAccessRecordTo(const AccessRecord& r, const QueryRedactor& redactor, std::string* line) {
  // Only a target with a query or path parameters can hold something to redact.
  std::string redacted;
  std::string_view path = r.target;
  if (!redactor.empty() && path.find_first_of("?;") != std::string_view::npos) {
    redacted = redactor.Redact(r.target);
    path = redacted;
  }
  const std::string_view end_name = RequestEndName(r.end);
  // The worst case: the fixed text, numbers, the address, and every string escaped at 6 bytes a
  // byte ("\u00XX", "\ufffd").
  const size_t strings = r.request_id.size() + r.trace_id.size() + r.span_id.size() +
                         r.consumer.size() + r.route.size() + r.upstream.size() +
                         r.upstream_server.size() + r.method.size() + r.host.size() + path.size() +
                         r.protocol.size() + r.auth.size() + r.rate_limit.size() + r.cache.size() +
                         end_name.size() + r.user_agent.size();
  line->resize(1536 + 6 * strings);
  LineWriter w(line->data());
  w.Raw("{\"time\":\"");
  w.Time(r.start_unix_ns);
  w.Char('"');
  w.StringOrNull(",\"request_id\":", r.request_id);
  w.StringOrNull(",\"trace_id\":", r.trace_id);
  w.StringOrNull(",\"span_id\":", r.span_id);
  w.Raw(",\"client\":");
  if (r.client.valid()) {
    w.Char('"');
    w.Address(r.client);
    w.Char('"');
  } else {
    w.Raw("null");
  }
  w.StringOrNull(",\"consumer\":", r.consumer);
  w.StringOrNull(",\"route\":", r.route);
  w.StringOrNull(",\"upstream\":", r.upstream);
  w.StringOrNull(",\"upstream_server\":", r.upstream_server);
  w.Raw(",\"method\":");
  w.String(r.method);
  w.StringOrNull(",\"host\":", r.host);
  w.Raw(",\"path\":");
  w.String(path);
  w.Raw(",\"protocol\":");
  w.String(r.protocol);
  w.Int(",\"status\":", r.status);
  w.Int(",\"bytes_in\":", static_cast<int64_t>(r.bytes_in));
  w.Int(",\"bytes_out\":", static_cast<int64_t>(r.bytes_out));
  w.Int(",\"duration_us\":", r.duration_ns / 1000);
  w.OptionalInt(",\"upstream_connect_us\":", Micros(r.upstream_connect_ns));
  w.OptionalInt(",\"upstream_first_byte_us\":", Micros(r.upstream_first_byte_ns));
  w.Int(",\"filters_us\":", r.filters_ns / 1000);
  w.StringOrNull(",\"auth\":", r.auth);
  w.StringOrNull(",\"rate_limit\":", r.rate_limit);
  w.StringOrNull(",\"cache\":", r.cache);
  w.Int(",\"retries\":", r.retries);
  w.Raw(",\"end\":");
  w.String(end_name);
  w.StringOrNull(",\"user_agent\":", r.user_agent);
  w.Char('}');
  line->resize(w.size());
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
  FormatAccessRecordTo(record, redactor_, &line_);
  return sink_->Submit(line_);
}

}  // namespace edge::l7
