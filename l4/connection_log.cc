#include "l4/connection_log.h"

#include <time.h>

#include "absl/strings/str_format.h"
#include "common/log/json_line.h"
#include "common/log/sampler.h"

namespace edge::l4 {
namespace {

std::string FormatTime(int64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (unix_ns % 1'000'000'000) / 1000);
}

}  // namespace

int64_t WallClockNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string FormatConnectionRecord(const ConnectionRecord& r) {
  std::string line;
  line.reserve(384);
  log::JsonLine j(&line);
  j.String("time", FormatTime(r.start_unix_ns))
      .String("listener", r.listener)
      .String("mode", r.mode);
  if (r.client != nullptr && r.client->valid()) {
    j.String("client", r.client->ToString());
  } else {
    j.Null("client");
  }
  j.StringOrNull("pool", r.pool)
      .StringOrNull("backend", r.backend)
      .Int("bytes_in", static_cast<int64_t>(r.bytes_from_client))
      .Int("bytes_out", static_cast<int64_t>(r.bytes_from_backend))
      .Int("duration_us", r.duration_ns / 1000)
      .StringOrNull("close", r.close)
      .StringOrNull("tls_version", r.tls_version)
      .StringOrNull("tls_cipher", r.tls_cipher)
      .StringOrNull("sni", r.sni)
      .StringOrNull("alpn", r.alpn);
  if (r.tls_resumed) {
    j.Bool("tls_resumed", *r.tls_resumed);
  } else {
    j.Null("tls_resumed");
  }
  j.Finish();
  return line;
}

void LogConnection(log::LineSink* sink, double sample, const ConnectionRecord& record) {
  if (sink == nullptr) return;
  thread_local log::Sampler sampler(static_cast<uint64_t>(WallClockNs()) ^
                                    reinterpret_cast<uintptr_t>(&sampler));
  if (!sampler.Keep(sample)) return;
  sink->Submit(FormatConnectionRecord(record));
}

}  // namespace edge::l4
