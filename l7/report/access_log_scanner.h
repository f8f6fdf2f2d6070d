#pragma once
// Reading gw7 access log lines (l7/observe/access_log.h) fast and strictly, for `gw7 report`.
//
// A hand-rolled scanner for flat JSON objects (what the access log writes): keys and string
// values with every JSON escape, numbers, true/false/null; nested values and anything else are
// refused (the line is counted as malformed, never guessed at). Field order does not matter and
// unknown fields are skipped, so lines from older or newer gw7 versions still read. String values
// without escapes are views into the line; escaped ones are decoded into a scratch buffer.
// Measured throughput is in README.md ("gw7 report").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::l7::report {

// The fields a report needs from one line.
struct LogRow {
  int64_t time_us = 0;        // "time", microseconds since the epoch
  std::string_view consumer;  // empty: null
  std::string_view route;     // empty: null
  int status = 0;
  int64_t duration_us = 0;
  int64_t bytes_in = 0, bytes_out = 0;
  bool rate_limited = false;  // "rate_limit":"limited"
  bool refused = false;       // "end":"refused"
};

// Parses one line (without its newline). False: malformed (not a flat JSON object, or "time"
// missing or not the log's timestamp format). `scratch` holds decoded escaped strings; the row's
// views point into `line` or `scratch` and stay valid until the next call with the same scratch.
bool ParseLogRow(std::string_view line, LogRow* row, std::string* scratch);

// "2026-12-02T17:02:44.123456Z" (fraction of 0 to 9 digits, optional) -> microseconds since the
// epoch; nullopt when not that form.
std::optional<int64_t> ParseTimestamp(std::string_view text);

}  // namespace edge::l7::report
