#include "common/health/health_policy.h"

#include <algorithm>

namespace edge::health {

bool RiseFall::Record(bool ok) {
  if (ok) {
    failures_ = 0;
    ++successes_;
    if (!up_ && successes_ >= rise_) {
      up_ = true;
      return true;
    }
  } else {
    successes_ = 0;
    ++failures_;
    if (up_ && failures_ >= fall_) {
      up_ = false;
      return true;
    }
  }
  return false;
}

int64_t NextProbeNs(int64_t last_start_ns, int64_t interval_ns, double fraction,
                    int64_t not_before_ns) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int64_t spread = interval_ns / 10;
  const int64_t next =
      last_start_ns + interval_ns - spread + static_cast<int64_t>(fraction * spread);
  return std::max(next, not_before_ns);
}

int64_t FirstProbeNs(int64_t now_ns, int64_t interval_ns, double fraction) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  return now_ns + std::min(static_cast<int64_t>(fraction * interval_ns), interval_ns - 1);
}

int64_t EjectionDurationNs(const EjectionHistory& history, int64_t now_ns, int64_t base_ns,
                           int64_t cap_ns) {
  if (history.last_duration_ns <= 0 || now_ns - history.last_end_ns >= cap_ns) return base_ns;
  // Doubling a duration already at the cap stays at the cap (and cannot overflow: <= 24h).
  return std::min(std::max(history.last_duration_ns, base_ns) * 2, cap_ns);
}

size_t MaxEjected(size_t backends, int percent) {
  if (percent <= 0) return 0;
  if (percent >= 100) return backends;
  return backends * static_cast<size_t>(percent) / 100;
}

bool InPanic(size_t healthy, size_t total, int threshold_percent) {
  if (threshold_percent <= 0 || total == 0) return false;
  // healthy / total < threshold / 100, in integers.
  return healthy * 100 < total * static_cast<size_t>(threshold_percent);
}

}  // namespace edge::health
