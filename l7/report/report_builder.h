#pragma once
// ReportBuilder: aggregates access log rows into what `gw7 report` shows: requests over time per
// consumer and per route, status mix and p50/p95/p99 latency over time, totals per consumer and
// per route (top consumers, share rate-limited, slowest routes).
//
// Time is cut into `buckets` equal buckets over [from, to) (microseconds); rows outside are
// counted as out of range and left out. Latency quantiles come from LatencySketch (2% relative
// accuracy), so logs of any size merge in bounded memory: per bucket one sketch and six status
// counts, per name one count per bucket. Distinct names beyond kMaxNames count as "(other)".

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "l7/observe/latency_sketch.h"
#include "l7/report/access_log_scanner.h"

namespace edge::l7::report {

struct NameTotals {
  uint64_t requests = 0;
  std::array<uint64_t, 6> status{};  // [0]: none, [1..5]: 1xx..5xx
  uint64_t rate_limited = 0, refused = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  LatencySketch latency;
  std::vector<uint64_t> per_bucket;  // requests per time bucket
};

struct ReportData {
  int64_t from_us = 0, to_us = 0, bucket_us = 1;
  size_t buckets = 0;
  uint64_t rows = 0;          // in range
  uint64_t malformed = 0;     // lines that did not parse
  uint64_t out_of_range = 0;  // parsed, outside [from, to)
  std::vector<std::array<uint64_t, 6>> status_per_bucket;
  std::vector<LatencySketch> latency_per_bucket;
  std::map<std::string, NameTotals, std::less<>> consumers;
  std::map<std::string, NameTotals, std::less<>> routes;
};

class ReportBuilder {
 public:
  static constexpr size_t kMaxNames = 10000;
  static constexpr std::string_view kOther = "(other)";

  ReportBuilder(int64_t from_us, int64_t to_us, size_t buckets);

  void Add(const LogRow& row);
  void CountMalformed() { ++data_.malformed; }
  const ReportData& data() const { return data_; }

 private:
  NameTotals& Named(std::map<std::string, NameTotals, std::less<>>& map, std::string_view name);

  ReportData data_;
};

// A bucket width that reads well ("10s", "5m", ...) giving at most `max_buckets` buckets over
// [from, to): 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d.
int64_t NiceBucketUs(int64_t from_us, int64_t to_us, size_t max_buckets);

}  // namespace edge::l7::report
