#pragma once
// When a name is resolved again: after its TTL, kept between a floor and a ceiling (a TTL of 0
// must not turn into a query storm, and a TTL of a day must not hide a change for a day); after a
// failure, sooner: the floor, doubled per consecutive failure up to the ceiling, so a DNS outage
// costs few queries while the last good answer stays in force.

#include <cstdint>

#include "absl/time/time.h"

namespace edge::dns {

struct RefreshBounds {
  absl::Duration min = absl::Seconds(1);  // floor
  absl::Duration max = absl::Minutes(5);  // ceiling; >= min
};

// Delay before re-resolving an answer whose TTL is `ttl_s` seconds.
int64_t RefreshDelayNs(uint32_t ttl_s, const RefreshBounds& bounds);

// Delay before retrying after `failures` (>= 1) consecutive failed resolutions.
int64_t RetryDelayNs(int failures, const RefreshBounds& bounds);

}  // namespace edge::dns
