#pragma once
// GCRA, the generic cell rate algorithm: a token bucket kept as one number per key, the
// theoretical arrival time (TAT) of the next request, and no timers. Pure arithmetic, shared by
// the local store and (transcribed to Lua) the Redis store.
//
// A policy "limit per period, burst" allows requests at a sustained rate of limit/per (one every
// emission interval T = per/limit) and lets a client that has been idle send up to
// capacity = limit + burst requests at once: the bucket holds a full period's quota plus the
// burst allowance, and refills continuously. A key whose TAT is in the past has a full bucket and
// can be forgotten without changing any decision, which is what lets stores expire idle keys.

#include <cstdint>

#include "absl/time/time.h"

namespace edge::l7 {

struct GcraPolicy {
  int64_t emission_ns = 0;  // T: per / limit
  int64_t capacity = 0;     // C: limit + burst
  int64_t window_ns = 0;    // C * T: how far TAT may run ahead of now
  // limit >= 1, per > 0, burst >= 0 (config validation guarantees it). Saturates rather than
  // overflows for extreme values.
  static GcraPolicy Make(uint64_t limit, absl::Duration per, uint64_t burst);
};

struct GcraDecision {
  bool allowed = false;
  int64_t remaining = 0;       // requests that would still be allowed right now
  int64_t reset_ns = 0;        // until the bucket is full again
  int64_t retry_after_ns = 0;  // refused: until one request would be allowed
  int64_t tat_ns = 0;          // the key's new TAT (unchanged when refused)
};

// One request at `now_ns` for a key whose TAT is `tat_ns` (0 or any past time: a full bucket).
GcraDecision GcraCheck(const GcraPolicy& policy, int64_t tat_ns, int64_t now_ns);

}  // namespace edge::l7
