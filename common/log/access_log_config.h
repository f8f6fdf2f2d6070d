#pragma once
// The `access_log` table shared by gw7 ([gw7.access_log]: one JSON line per request) and lb4
// ([lb4.access_log]: one JSON line per connection):
//
// clang-format off
//   path = "/var/log/edge/gw7-access.log"   # a file (appended to; SIGUSR1 reopens it), "stdout", "off"
//   sample = 1.0                            # fraction of lines kept, 0..1
//   redact = ["api_key", "token"]           # gw7 only: query parameters whose values are replaced
//   queue = "8MiB"                          # bytes waiting for the writer thread; beyond: dropped
// clang-format on
//
// Absent table: "off".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/table_reader.h"

namespace edge::log {

struct AccessLogConfig {
  std::string path = "off";  // "off" | "stdout" | a file path
  double sample = 1.0;
  std::vector<std::string> redact;  // as written; matching normalises them (see redact_query.h)
  uint64_t queue_bytes = 8u << 20;

  bool enabled() const { return path != "off"; }
};

// Reads `key` (e.g. "access_log") of `parent` when present. `allow_redact`: whether the table may
// hold `redact` (lb4 logs no URLs). Errors go to the parent's ConfigErrors, positioned.
void ReadAccessLogConfig(config::TableReader& parent, std::string_view key, bool allow_redact,
                         AccessLogConfig* out);

// A fraction 0..1 (a TOML float or the integers 0 and 1) for `key` of `r`: sample rates.
bool ReadSampleRate(config::TableReader& r, std::string_view key, double* out);

}  // namespace edge::log
