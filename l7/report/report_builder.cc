#include "l7/report/report_builder.h"

#include <algorithm>

namespace edge::l7::report {

int64_t NiceBucketUs(int64_t from_us, int64_t to_us, size_t max_buckets) {
  static constexpr int64_t kSteps[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                       600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
  const int64_t span = std::max<int64_t>(to_us - from_us, 1);
  for (int64_t s : kSteps) {
    const int64_t us = s * 1'000'000;
    if ((span + us - 1) / us <= static_cast<int64_t>(max_buckets)) return us;
  }
  const int64_t day = 86400LL * 1'000'000;
  return ((span / static_cast<int64_t>(max_buckets)) / day + 1) * day;
}

ReportBuilder::ReportBuilder(int64_t from_us, int64_t to_us, size_t buckets) {
  buckets = std::max<size_t>(buckets, 1);
  data_.from_us = from_us;
  data_.to_us = std::max(to_us, from_us + 1);
  data_.bucket_us = std::max<int64_t>(
      (data_.to_us - from_us + static_cast<int64_t>(buckets) - 1) / static_cast<int64_t>(buckets),
      1);
  data_.buckets = buckets;
  data_.status_per_bucket.assign(buckets, {});
  data_.latency_per_bucket.assign(buckets, {});
}

NameTotals& ReportBuilder::Named(std::map<std::string, NameTotals, std::less<>>& map,
                                 std::string_view name) {
  auto it = map.find(name);
  if (it == map.end()) {
    if (map.size() >= kMaxNames) name = kOther;
    it = map.try_emplace(std::string(name)).first;
    it->second.per_bucket.assign(data_.buckets, 0);
  }
  return it->second;
}

void ReportBuilder::Add(const LogRow& row) {
  if (row.time_us < data_.from_us || row.time_us >= data_.to_us) {
    ++data_.out_of_range;
    return;
  }
  ++data_.rows;
  const size_t bucket = static_cast<size_t>((row.time_us - data_.from_us) / data_.bucket_us);
  const size_t cls =
      row.status >= 100 && row.status <= 599 ? static_cast<size_t>(row.status / 100) : 0;
  ++data_.status_per_bucket[bucket][cls];
  const int latency = LatencySketch::IndexOf(static_cast<double>(row.duration_us));
  data_.latency_per_bucket[bucket].AddIndex(latency);
  for (auto* map : {&data_.consumers, &data_.routes}) {
    const std::string_view name = map == &data_.consumers
                                      ? (row.consumer.empty() ? "(anonymous)" : row.consumer)
                                      : (row.route.empty() ? "(none)" : row.route);
    NameTotals& t = Named(*map, name);
    ++t.requests;
    ++t.status[cls];
    t.rate_limited += row.rate_limited;
    t.refused += row.refused;
    t.bytes_in += static_cast<uint64_t>(row.bytes_in);
    t.bytes_out += static_cast<uint64_t>(row.bytes_out);
    t.latency.AddIndex(latency);
    ++t.per_bucket[bucket];
  }
}

}  // namespace edge::l7::report
