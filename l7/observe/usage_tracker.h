#pragma once
// UsageTracker: gw7's in-memory usage analytics, per consumer and per route, over sliding
// windows, served as JSON on the admin port (GET /usage).
//
// Each key (a route, a consumer) has a ring of kSlots slots of kSlotSeconds each (5 minutes);
// a request lands in the slot of the time it ended, and a slot older than the ring is cleared
// when its place comes round again. A window (the last 1 or 5 minutes) is the merge of the slots
// it covers, the current, partly filled slot included, so "1m" covers between 50 and 60 seconds.
// Per slot: requests, responses by status class, bytes in and out, rate-limited and refused
// requests, and a LatencySketch, so window quantiles are exact merges, not averages of averages.
//
// Memory is bounded: routes are bounded by the config; consumers by max_consumers. When that
// many consumers are tracked, a new one first takes the place of a consumer idle for the whole
// ring; failing that it is counted under the overflow key "(other)". Requests without a consumer
// count under "(anonymous)", requests without a route (404) under the route "(none)".
//
// Loop thread only (the admin endpoint renders through GatewayServer::RunOnLoop).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "l7/observe/access_record.h"
#include "l7/observe/latency_sketch.h"

namespace edge::l7 {

struct UsageCounts {
  uint64_t requests = 0;
  std::array<uint64_t, 6> status{};  // [0]: no status sent; [1..5]: 1xx..5xx
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t rate_limited = 0;  // rate_limit outcome "limited"
  uint64_t refused = 0;       // ended as kRefused (limits, max_connections, draining)
  LatencySketch latency;

  void Add(const AccessRecord& r);
  void Merge(const UsageCounts& other);
};

class UsageTracker {
 public:
  static constexpr int kSlots = 30;
  static constexpr int64_t kSlotSeconds = 10;
  static constexpr size_t kDefaultMaxConsumers = 1000;
  static constexpr std::string_view kOverflow = "(other)";
  static constexpr std::string_view kAnonymous = "(anonymous)";
  static constexpr std::string_view kNoRoute = "(none)";

  explicit UsageTracker(size_t max_consumers = kDefaultMaxConsumers)
      : max_consumers_(max_consumers) {}

  // One finished request, at `now_unix_ns` (its end).
  void Record(const AccessRecord& record, int64_t now_unix_ns);

  // The merged counts of `key` over the last `seconds` (a multiple of kSlotSeconds, at most the
  // ring) at `now_unix_ns`; nullopt when the key is not tracked.
  std::optional<UsageCounts> Window(bool consumer, std::string_view key, int64_t seconds,
                                    int64_t now_unix_ns) const;

  // {"slot_seconds":10,"windows":["1m","5m"],"max_consumers":1000,"consumers_tracked":N,
  //  "consumers_overflowed":N,"routes":[{"name":..,"1m":{...},"5m":{...}}],"consumers":[...]}
  // each window {"requests","rps","status":{"1xx".."5xx","none"},"errors_4xx","errors_5xx",
  //  "bytes_in","bytes_out","rate_limited","refused","latency_ms":{"p50","p95","p99"}};
  // routes sorted by name, consumers by 5-minute requests (most first), at most `top` of them.
  std::string RenderJson(int64_t now_unix_ns, size_t top = 100) const;

  size_t consumers_tracked() const { return consumers_.size(); }

 private:
  struct Slot {
    int64_t epoch = -1;  // slot number since the epoch (unix seconds / kSlotSeconds)
    UsageCounts counts;
  };
  struct Series {
    std::array<Slot, kSlots> slots;
    int64_t last_epoch = -1;
    void Add(const AccessRecord& r, int64_t epoch);
    UsageCounts Merge(int64_t now_epoch, int slots) const;
  };
  using SeriesMap = std::map<std::string, std::unique_ptr<Series>, std::less<>>;

  Series& ConsumerSeries(std::string_view consumer, int64_t epoch);
  static void AppendWindow(std::string* out, const UsageCounts& c, int64_t seconds);

  size_t max_consumers_;
  SeriesMap routes_;
  SeriesMap consumers_;                // at most max_consumers_ plus the overflow key
  uint64_t consumers_overflowed_ = 0;  // requests counted under kOverflow
};

}  // namespace edge::l7
