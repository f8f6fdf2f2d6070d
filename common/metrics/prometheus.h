#pragma once
// Prometheus text exposition format (version 0.0.4) writer, and a fixed-bucket histogram whose
// observations are made by one thread and read by any (the admin endpoint).

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::metrics {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class PrometheusText {
 public:
  // Starts a metric family: "# HELP" and "# TYPE" lines. `type`: counter | gauge | histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line: name{label="value",...} value. Label values are escaped as the format says.
  void Sample(std::string_view name, Labels labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Upper bounds of the connection-duration buckets, in seconds (+Inf is implicit).
inline constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                            1,     5,     10,   60,   300, 3600};

class DurationHistogram {
 public:
  static constexpr size_t kBuckets = kDurationBuckets.size() + 1;  // the last one is +Inf
  // Single writer.
  void Observe(double seconds);
  // Any thread: adds this histogram's counts into `counts` (per bucket, not cumulative) and sum.
  void AddTo(std::array<uint64_t, kBuckets>* counts, double* sum) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<double> sum_{0};
};

// Writes a whole histogram family from per-bucket counts (made cumulative here).
void WriteHistogram(PrometheusText* out, std::string_view name, std::string_view help,
                    const std::array<uint64_t, DurationHistogram::kBuckets>& counts, double sum);

// Escapes a string for a JSON string literal (without the quotes).
std::string JsonEscape(std::string_view s);

}  // namespace edge::metrics
