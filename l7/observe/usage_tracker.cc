#include "l7/observe/usage_tracker.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/log/json_line.h"

namespace edge::l7 {
namespace {

int64_t EpochOf(int64_t unix_ns) { return unix_ns / (UsageTracker::kSlotSeconds * 1'000'000'000); }

void AppendString(std::string* out, std::string_view s) {
  out->push_back('"');
  log::AppendJsonEscaped(out, s);
  out->push_back('"');
}

}  // namespace

void UsageCounts::Add(const AccessRecord& r) {
  ++requests;
  const int status_class = r.status >= 100 && r.status <= 599 ? r.status / 100 : 0;
  ++status[static_cast<size_t>(status_class)];
  bytes_in += r.bytes_in;
  bytes_out += r.bytes_out;
  if (r.rate_limit == "limited") ++rate_limited;
  if (r.end == RequestEnd::kRefused) ++refused;
  latency.Add(static_cast<double>(r.duration_ns) / 1000.0);
}

void UsageCounts::Merge(const UsageCounts& o) {
  requests += o.requests;
  for (size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  rate_limited += o.rate_limited;
  refused += o.refused;
  latency.Merge(o.latency);
}

void UsageTracker::Series::Add(const AccessRecord& r, int64_t epoch) {
  Slot& slot = slots[static_cast<size_t>(epoch % kSlots)];
  if (slot.epoch != epoch) {
    if (epoch < slot.epoch) return;  // the clock went back past the ring: drop, never mix
    slot.counts = UsageCounts{};
    slot.epoch = epoch;
  }
  slot.counts.Add(r);
  last_epoch = std::max(last_epoch, epoch);
}

UsageCounts UsageTracker::Series::Merge(int64_t now_epoch, int count) const {
  UsageCounts total;
  for (const Slot& slot : slots) {
    if (slot.epoch > now_epoch - count && slot.epoch <= now_epoch) total.Merge(slot.counts);
  }
  return total;
}

UsageTracker::Series& UsageTracker::ConsumerSeries(std::string_view consumer, int64_t epoch) {
  if (consumer.empty()) consumer = kAnonymous;
  auto it = consumers_.find(consumer);
  if (it != consumers_.end()) return *it->second;
  size_t tracked = consumers_.size() - (consumers_.count(kOverflow) ? 1 : 0);
  if (tracked >= max_consumers_) {
    // Make room from consumers idle for the whole ring (they have nothing left to report).
    std::erase_if(consumers_, [&](const auto& entry) {
      return entry.first != kOverflow && entry.second->last_epoch <= epoch - kSlots;
    });
    tracked = consumers_.size() - (consumers_.count(kOverflow) ? 1 : 0);
  }
  if (tracked >= max_consumers_) {
    ++consumers_overflowed_;
    auto& overflow = consumers_[std::string(kOverflow)];
    if (!overflow) overflow = std::make_unique<Series>();
    return *overflow;
  }
  auto& series = consumers_[std::string(consumer)];
  series = std::make_unique<Series>();
  return *series;
}

void UsageTracker::Record(const AccessRecord& record, int64_t now_unix_ns) {
  const int64_t epoch = EpochOf(now_unix_ns);
  const std::string_view route = record.route.empty() ? kNoRoute : record.route;
  auto it = routes_.find(route);
  if (it == routes_.end()) {
    it = routes_.emplace(std::string(route), std::make_unique<Series>()).first;
  }
  it->second->Add(record, epoch);
  ConsumerSeries(record.consumer, epoch).Add(record, epoch);
}

std::optional<UsageCounts> UsageTracker::Window(bool consumer, std::string_view key,
                                                int64_t seconds, int64_t now_unix_ns) const {
  const SeriesMap& map = consumer ? consumers_ : routes_;
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  const int slots = static_cast<int>(std::clamp<int64_t>(seconds / kSlotSeconds, 1, kSlots));
  return it->second->Merge(EpochOf(now_unix_ns), slots);
}

void UsageTracker::AppendWindow(std::string* out, const UsageCounts& c, int64_t seconds) {
  absl::StrAppendFormat(
      out,
      "{\"requests\":%d,\"rps\":%.3f,\"status\":{\"1xx\":%d,\"2xx\":%d,\"3xx\":%d,\"4xx\":%d,"
      "\"5xx\":%d,\"none\":%d},\"errors_4xx\":%d,\"errors_5xx\":%d,\"bytes_in\":%d,"
      "\"bytes_out\":%d,\"rate_limited\":%d,\"refused\":%d,"
      "\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}}",
      c.requests, static_cast<double>(c.requests) / static_cast<double>(seconds), c.status[1],
      c.status[2], c.status[3], c.status[4], c.status[5], c.status[0], c.status[4], c.status[5],
      c.bytes_in, c.bytes_out, c.rate_limited, c.refused, c.latency.Quantile(0.50) / 1000.0,
      c.latency.Quantile(0.95) / 1000.0, c.latency.Quantile(0.99) / 1000.0);
}

std::string UsageTracker::RenderJson(int64_t now_unix_ns, size_t top) const {
  const int64_t now_epoch = EpochOf(now_unix_ns);
  constexpr int64_t kShort = 60, kLong = kSlots * kSlotSeconds;
  std::string out = absl::StrFormat(
      "{\"slot_seconds\":%d,\"windows\":[\"1m\",\"5m\"],\"max_consumers\":%d,"
      "\"consumers_tracked\":%d,\"consumers_overflowed\":%d,\"routes\":[",
      kSlotSeconds, max_consumers_, consumers_.size(), consumers_overflowed_);
  auto append_entry = [&](std::string_view name, const Series& s, bool first) {
    if (!first) out.push_back(',');
    out += "{\"name\":";
    AppendString(&out, name);
    out += ",\"1m\":";
    AppendWindow(&out, s.Merge(now_epoch, static_cast<int>(kShort / kSlotSeconds)), kShort);
    out += ",\"5m\":";
    AppendWindow(&out, s.Merge(now_epoch, kSlots), kLong);
    out.push_back('}');
  };
  bool first = true;
  for (const auto& [name, series] : routes_) {
    append_entry(name, *series, first);
    first = false;
  }
  out += "],\"consumers\":[";
  std::vector<std::pair<uint64_t, const SeriesMap::value_type*>> ranked;
  for (const auto& entry : consumers_) {
    const uint64_t requests = entry.second->Merge(now_epoch, kSlots).requests;
    if (requests > 0) ranked.emplace_back(requests, &entry);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->first < b.second->first;
  });
  if (ranked.size() > top) ranked.resize(top);
  first = true;
  for (const auto& [requests, entry] : ranked) {
    append_entry(entry->first, *entry->second, first);
    first = false;
  }
  out += "]}\n";
  return out;
}

}  // namespace edge::l7
