#include "l7/upstream/passive_health.h"

namespace edge::l7 {

bool PassiveHealth::Record(bool success, int64_t now_ns) {
  if (success) {
    consecutive_failures_ = 0;
    return false;
  }
  if (max_failures_ <= 0 || ejected(now_ns)) return false;
  ++consecutive_failures_;
  if (consecutive_failures_ < max_failures_) return false;
  if (budget_ != nullptr && !budget_->MayEject(*this, now_ns)) return false;
  const int64_t duration =
      health::EjectionDurationNs(history_, now_ns, ejection_ns_, max_ejection_ns_);
  history_.last_duration_ns = duration;
  history_.last_end_ns = now_ns + duration;
  ejected_until_ns_ = now_ns + duration;
  const int failures = consecutive_failures_;
  consecutive_failures_ = 0;  // after the ejection the server gets a fresh count
  ++ejections_;
  if (budget_ != nullptr) budget_->OnEjected(*this, failures, now_ns);
  return true;
}

}  // namespace edge::l7
