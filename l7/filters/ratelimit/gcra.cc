#include "l7/filters/ratelimit/gcra.h"

#include <algorithm>
#include <limits>

namespace edge::l7 {

GcraPolicy GcraPolicy::Make(uint64_t limit, absl::Duration per, uint64_t burst) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  GcraPolicy p;
  const __int128 per_ns = std::max<__int128>(1, absl::ToInt64Nanoseconds(per));
  const __int128 lim = std::max<uint64_t>(1, limit);
  p.emission_ns = static_cast<int64_t>(std::max<__int128>(1, per_ns / lim));
  const __int128 capacity = lim + static_cast<__int128>(burst);
  p.capacity = static_cast<int64_t>(std::min<__int128>(capacity, kMax));
  p.window_ns = static_cast<int64_t>(std::min<__int128>(capacity * p.emission_ns, kMax));
  return p;
}

GcraDecision GcraCheck(const GcraPolicy& policy, int64_t tat_ns, int64_t now_ns) {
  GcraDecision d;
  const int64_t tat = std::max(tat_ns, now_ns);
  const int64_t new_tat = tat + policy.emission_ns;
  // The earliest time at which a request fits: TAT may run at most one window ahead of now.
  const int64_t allow_at = new_tat - policy.window_ns;
  if (now_ns < allow_at) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after_ns = allow_at - now_ns;
    d.reset_ns = tat - now_ns;
    d.tat_ns = tat_ns;
    return d;
  }
  d.allowed = true;
  d.remaining = (now_ns - allow_at) / policy.emission_ns;
  d.reset_ns = new_tat - now_ns;
  d.tat_ns = new_tat;
  return d;
}

}  // namespace edge::l7
