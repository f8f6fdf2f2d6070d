#pragma once
// Passive health of one upstream server: after `max_failures` consecutive failed requests
// (connect errors, resets, bad responses, timeouts) the server is ejected, during which the
// balancer skips it. The length follows lb4's back-off (common/health/health_policy.h,
// EjectionDurationNs): `ejection_ns` the first time, doubled for each repeated ejection up to
// `max_ejection_ns` while the server keeps failing, `ejection_ns` again after a quiet
// `max_ejection_ns`. A success resets the count; failures while ejected are not counted (they
// come from requests started before, or sent in panic). Before each ejection the upstream's
// Budget is asked (max_ejection_percent), so that a cold start never ejects every server.

#include <cstdint>

#include "common/health/health_policy.h"

namespace edge::l7 {

class PassiveHealth {
 public:
  // The upstream's view of its servers' ejections (l7/server/upstream_health.h).
  class Budget {
   public:
    // May `server` be ejected now? False keeps it in (its count stays, so the next failure asks
    // again).
    virtual bool MayEject(const PassiveHealth& server, int64_t now_ns) = 0;
    // `server` was just ejected (for server.last_ejection_ns()).
    virtual void OnEjected(const PassiveHealth& server, int failures, int64_t now_ns) = 0;

   protected:
    ~Budget() = default;
  };

  // max_failures <= 0: never eject. max_ejection_ns below ejection_ns (0 included) means no
  // doubling: every ejection lasts ejection_ns.
  PassiveHealth(int max_failures, int64_t ejection_ns, int64_t max_ejection_ns = 0)
      : max_failures_(max_failures),
        ejection_ns_(ejection_ns),
        max_ejection_ns_(max_ejection_ns < ejection_ns ? ejection_ns : max_ejection_ns) {}

  // Not owned; may be null (no cap). Set once the upstream is built.
  void set_budget(Budget* budget) { budget_ = budget; }

  // Records one request's outcome at `now_ns`. Returns true when this failure ejected the server.
  bool Record(bool success, int64_t now_ns);
  bool ejected(int64_t now_ns) const { return now_ns < ejected_until_ns_; }
  int consecutive_failures() const { return consecutive_failures_; }
  uint64_t ejections() const { return ejections_; }
  int64_t ejected_until_ns() const { return ejected_until_ns_; }
  // The length of the latest ejection (0 before the first).
  int64_t last_ejection_ns() const { return history_.last_duration_ns; }
  // Takes over another instance's state (not its limits): a reload keeps a server's history.
  void InheritState(const PassiveHealth& old) {
    consecutive_failures_ = old.consecutive_failures_;
    ejected_until_ns_ = old.ejected_until_ns_;
    ejections_ = old.ejections_;
    history_ = old.history_;
  }

 private:
  int max_failures_;
  int64_t ejection_ns_;
  int64_t max_ejection_ns_;
  Budget* budget_ = nullptr;
  int consecutive_failures_ = 0;
  int64_t ejected_until_ns_ = 0;
  uint64_t ejections_ = 0;
  health::EjectionHistory history_;  // last_end_ns: when the latest ejection ends
};

}  // namespace edge::l7
