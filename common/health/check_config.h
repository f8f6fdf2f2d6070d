#pragma once
// The health-check settings of lb4 and gw7, read by one reader so that both programs accept the
// same keys with the same rules and messages:
//
//   edge.toml     [pool.health]              active keys and ejection keys in one table
//   gateway.toml  [[upstream]] health = {..}  active keys; ejection keys on the [[upstream]]
//
// Active keys (ReadActiveCheck): check (tcp | http | none), path, port, interval, timeout, rise,
// fall, expect_status. Ejection keys (ReadEjection): passive_failures, ejection_time,
// max_ejection_time, max_ejection_percent. Each program sets its own defaults in the struct
// before reading (lb4: check none, "/healthz", 1s/500ms; gw7: check http once the table is
// there, "/health", 2s/1s) and lists the keys among its TableReader's allowed keys.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/config/table_reader.h"
#include "common/health/expect_status.h"

namespace edge::health {

enum class CheckKind { kNone, kTcp, kHttp };

// "none", "tcp", "http".
std::string_view CheckKindName(CheckKind kind);

struct ActiveCheckConfig {
  using Check = CheckKind;
  Check check = Check::kNone;     // none: no probes, every server counts as up
  std::string path = "/healthz";  // http only; starts with '/', visible ASCII
  // 1..65535: probe this port of each server's IP instead of its traffic port; 0 = the traffic
  // port (lb4 checks gw7's admin /healthz this way).
  uint16_t port = 0;
  absl::Duration interval = absl::Seconds(1);        // between probes of one server
  absl::Duration timeout = absl::Milliseconds(500);  // per probe; never above interval
  int rise = 2;                                      // consecutive successes to become healthy
  int fall = 3;                                      // consecutive failures to become unhealthy
  ExpectStatus expect_status;                        // http: passing statuses, default 200-399
};

// Passive checks (outlier ejection): after passive_failures consecutive failures a server is
// ejected for ejection_time, doubled for each repeated ejection up to max_ejection_time
// (EjectionDurationNs), and never more than max_ejection_percent of a pool/upstream at once.
struct EjectionConfig {
  int passive_failures = 0;                             // 0..1000, 0 = off
  absl::Duration ejection_time = absl::Seconds(10);     // the first ejection's length
  absl::Duration max_ejection_time = absl::Minutes(5);  // the cap; never below ejection_time
  int max_ejection_percent = 50;                        // 0..100, of the servers, rounded down
};

inline constexpr int kMaxRiseFall = 100;
inline constexpr int kMaxPassiveFailures = 1000;

// Reads those active keys that `r`'s table holds into `out`, reporting each bad value through
// `r` (file:line:col, the key, the allowed values). Keys absent keep `out`'s values. Checks
// timeout <= interval whichever of the two was written.
void ReadActiveCheck(config::TableReader& r, ActiveCheckConfig* out);

// The same for the ejection keys; checks ejection_time <= max_ejection_time. With
// `cap_follows_base`, an ejection_time above the default cap when max_ejection_time is not
// written raises the cap to it (no doubling) instead of being an error: gw7's ejection_time had
// no cap before the back-off, and its configs keep loading. lb4 refuses it, as it always has.
void ReadEjection(config::TableReader& r, EjectionConfig* out, bool cap_follows_base = false);

}  // namespace edge::health
