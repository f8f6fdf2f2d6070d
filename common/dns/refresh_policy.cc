#include "common/dns/refresh_policy.h"

#include <algorithm>

namespace edge::dns {

int64_t RefreshDelayNs(uint32_t ttl_s, const RefreshBounds& bounds) {
  absl::Duration ttl = absl::Seconds(ttl_s);
  return absl::ToInt64Nanoseconds(std::clamp(ttl, bounds.min, std::max(bounds.min, bounds.max)));
}

int64_t RetryDelayNs(int failures, const RefreshBounds& bounds) {
  absl::Duration delay = bounds.min;
  const absl::Duration ceiling = std::max(bounds.min, bounds.max);
  for (int i = 1; i < failures && delay < ceiling; ++i) delay *= 2;
  return absl::ToInt64Nanoseconds(std::min(delay, ceiling));
}

}  // namespace edge::dns
