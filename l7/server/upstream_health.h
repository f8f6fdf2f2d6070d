#pragma once
// UpstreamHealth: the health of one upstream as a whole, for one config generation, on gw7's loop.
// Each server has its own verdicts (UpstreamServer::check from the active probes, ::passive from
// the requests); this object holds what concerns them together:
//
//   - the ejection cap (PassiveHealth::Budget): at most max_ejection_percent of the servers,
//     rounded down, are ejected at once (lb4's rule, health_policy.h MaxEjected), so that a gw7
//     started before its servers, whose first requests all fail, still keeps most of them;
//   - the panic threshold (Envoy's): while fewer than panic_threshold percent of the servers are
//     healthy, health is ignored and every server may be picked (UpstreamServer::Available), since
//     trying a server marked down beats a certain 503. Logged once per transition, exported as
//     gw7_upstream_panic and gw7_upstream_panic_requests_total.
//
// Logs (one line per event):
//   upstream "app" server 127.0.0.1:9101 ejected for 20s (ejection 2): 5 consecutive failures
//   upstream "app" server 127.0.0.1:9102 not ejected after 5 consecutive failures:
//     max_ejection_percent 50% allows 1 of 3 servers ejected at once
//   upstream "app": 0 of 3 servers healthy, below panic_threshold 50%: panic, every server gets
//     requests
//   upstream "app": 2 of 3 servers healthy: panic over

#include <cstdint>
#include <string>
#include <vector>

#include "l7/config/gateway_config.h"
#include "l7/upstream/passive_health.h"

namespace edge::l7 {

struct UpstreamServer;

class UpstreamHealth final : public PassiveHealth::Budget {
 public:
  // `servers` are the upstream's, in config order; they must outlive this object.
  UpstreamHealth(const UpstreamConfig& config, std::vector<UpstreamServer*> servers);
  // Takes over a previous generation's panic state and counter (same upstream name; call once
  // this generation's servers hold their inherited request counts), so that counters only grow.
  void InheritCounters(const UpstreamHealth& old);

  bool MayEject(const PassiveHealth& server, int64_t now_ns) override;
  void OnEjected(const PassiveHealth& server, int failures, int64_t now_ns) override;

  // Whether the upstream is in panic at `now_ns`. Evaluated at most once per loop iteration (the
  // loop's now_ns) unless Invalidate() was called; a transition is logged when evaluated.
  bool InPanic(int64_t now_ns);
  // A server's active health changed: the next InPanic re-evaluates.
  void Invalidate() { stale_ = true; }
  // Attempts sent while in panic (the servers' request counts while it lasted).
  uint64_t PanicRequests(int64_t now_ns);
  size_t Healthy(int64_t now_ns) const;

 private:
  UpstreamServer* Find(const PassiveHealth& passive) const;
  uint64_t Requests() const;

  const UpstreamConfig& config_;
  std::vector<UpstreamServer*> servers_;
  bool refusal_logged_ = false;  // "not ejected" said since the last ejection ended
  bool stale_ = true;
  int64_t evaluated_ns_ = -1;
  bool panic_ = false;
  uint64_t panic_base_ = 0;      // Requests() when the current panic began
  uint64_t panic_requests_ = 0;  // attempts sent in earlier panics
};

}  // namespace edge::l7
