#pragma once
// The arithmetic of health checking, one for lb4 and gw7, apart from any I/O so that it is tested
// on its own: the rise/fall state machine of active checks, the spread of probe times (jitter),
// passive ejection's back-off and cap, and the panic threshold.

#include <cstddef>
#include <cstdint>

namespace edge::health {

// Active checks' verdict for one backend. Up: `fall` consecutive failed checks take it down.
// Down: `rise` consecutive good checks bring it up. A check of the other kind breaks a streak.
// A server starts up: it takes traffic before its first check (lb4's Backend::check_up, gw7's
// UpstreamServer::check). Copyable: a reload hands a kept server's streaks to the new generation.
class RiseFall {
 public:
  RiseFall(int rise, int fall, bool up = true) : rise_(rise), fall_(fall), up_(up) {}

  // Records one check. Returns true when it changed the state.
  bool Record(bool ok);
  // New thresholds (a reload); the current streak is kept and applies at the next check.
  void SetThresholds(int rise, int fall) {
    rise_ = rise;
    fall_ = fall;
  }

  bool up() const { return up_; }
  int successes() const { return successes_; }  // the current streak of good checks
  int failures() const { return failures_; }    // the current streak of failed checks

 private:
  int rise_;
  int fall_;
  bool up_;
  int successes_ = 0;
  int failures_ = 0;
};

// When the probe after one that started at `last_start_ns` starts: between 0.9 and 1.0 interval
// later, by `fraction` in [0, 1). Never later than one interval, so that a backend that goes down
// is noticed within fall x interval (plus one timeout); the spread keeps backends checked at the
// same moment once from staying aligned. Never before `not_before_ns` (the last probe's end).
int64_t NextProbeNs(int64_t last_start_ns, int64_t interval_ns, double fraction,
                    int64_t not_before_ns);

// The first probe of a backend: at `fraction` of an interval after `now_ns`, fraction in [0, 1).
int64_t FirstProbeNs(int64_t now_ns, int64_t interval_ns, double fraction);

// Passive ejection's memory of one backend.
struct EjectionHistory {
  int64_t last_duration_ns = 0;  // length of the previous ejection, 0 before the first
  int64_t last_end_ns = 0;       // when it ended (CLOCK_MONOTONIC)
};

// How long an ejection that starts at `now_ns` lasts: `base_ns` the first time; double the
// previous one (up to `cap_ns`) when the previous ejection ended less than `cap_ns` ago, i.e.
// while the backend keeps failing; `base_ns` again after a quiet `cap_ns`.
int64_t EjectionDurationNs(const EjectionHistory& history, int64_t now_ns, int64_t base_ns,
                           int64_t cap_ns);

// How many of a pool's `backends` may be ejected at once: `percent` of them, rounded down (so a
// pool of 1 with percent < 100 never ejects its backend; 100 allows ejecting all).
size_t MaxEjected(size_t backends, int percent);

// Envoy's panic threshold: when fewer than `threshold_percent` of `total` servers are healthy,
// health is ignored and every server gets requests again (a whole upstream marked down is more
// often a bad check or a cold start than a real outage, and trying beats a certain 503).
// 0 disables it; with 100 any unhealthy server triggers it. No servers: no panic.
bool InPanic(size_t healthy, size_t total, int threshold_percent);

}  // namespace edge::health
