#pragma once
// VipAnnouncer: keeps [lb4.announce]'s VIP routes in their kernel table exactly while this lb4
// should receive traffic, so that the routing daemon announces it to the routers (BGP) and they
// spread the VIP over the lb4s that can serve (ECMP).
//
// Announced: lb4 is serving and every gated pool has a backend that may take connections and has
// passed a check (a fresh lb4 counts its backends up before the first check; routers are not
// told until one answered). Withdrawn: when a gated pool has none, and for good on Withdraw()
// (SIGTERM: lb4 then keeps accepting for drain_delay while routers move the flows away, then
// stops). A route removed behind lb4's back (`ip route flush table N`) is put back within a few
// seconds; one left behind by a crashed lb4 is removed at the next start when it must not be there.
// A reload (SIGHUP) applies a changed [lb4.announce] in place (Reconfigure).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "l4/announce/kernel_routes.h"
#include "l4/config.h"
#include "l4/runtime.h"

namespace edge::l4 {

// What the admin pages show about announcing (lb4_announced, /status "announce"). The announcer
// writes it, the admin thread reads it; it outlives announcers, so a reload that turns announcing
// on or off needs no new link to the admin server.
class AnnounceState {
 public:
  struct View {
    bool enabled = false;           // [lb4.announce] is in force
    std::vector<std::string> vips;  // "10.0.0.1/32"
    uint32_t table = 0;
    bool announced = false;
    std::string reason;   // why not announced ("" when announced)
    int64_t changes = 0;  // announce <-> withdraw transitions written to the kernel
    int64_t errors = 0;   // route writes the kernel refused (e.g. no CAP_NET_ADMIN)
  };
  View Get() const;
  void Configure(const AnnounceConfig& config);  // enabled, vips, table
  void Disable();
  void Set(bool announced, const std::string& reason);
  void CountError();

 private:
  mutable std::mutex mu_;
  View view_;
};

// Whether `runtime` can serve the announced VIPs: every pool named in `pools` (every pool a
// listener or SNI route uses when `pools` is empty) exists and has an eligible backend (healthy,
// not drained by runtime control) that passed an active check, or whose pool has no checks.
// Empty reason when it can; else why not ("no healthy backend in pool \"gw7\"").
std::string WhyNotServing(const Runtime& runtime, const std::vector<std::string>& pools);

class VipAnnouncer {
 public:
  // Returns why lb4 must not be announced now, or "" when it may, for the gated `pools` of the
  // config in force (AnnounceConfig::pools); called on the announcer's thread every 100ms.
  using Readiness = std::function<std::string(const std::vector<std::string>& pools)>;

  // Puts the routes in their wanted state at once (an error here, e.g. no CAP_NET_ADMIN, is
  // returned: lb4 should not run unannounced believing it is announced), then follows
  // `readiness` on a thread of its own.
  // `state` (may be null) must outlive the announcer.
  static absl::StatusOr<std::unique_ptr<VipAnnouncer>> Start(const AnnounceConfig& config,
                                                             Readiness readiness,
                                                             AnnounceState* state = nullptr);

  // Stops the thread and, unless Release()d, withdraws the routes.
  ~VipAnnouncer();

  // Withdraws every VIP now and for good; returns once the kernel has deleted the routes (or
  // after logging why it could not).
  void Withdraw();
  // Stops following readiness and leaves the routes as they are: a new lb4 took over the
  // sockets (--handover) and announces the same routes; deleting them would take its VIPs away.
  void Release();
  // A reload brought a different (enabled) [lb4.announce]: routes the new config does not have
  // (all of them when the table changed) are deleted, and the new ones are written at once if
  // lb4 may be announced. Nothing happens after Withdraw() or Release().
  void Reconfigure(const AnnounceConfig& config);

  bool announced() const { return announced_.load(); }
  // How long lb4 keeps accepting after Withdraw() on SIGTERM (the config in force).
  absl::Duration drain_delay() const;

 private:
  VipAnnouncer(const AnnounceConfig& config, KernelRoutes routes, Readiness readiness,
               AnnounceState* state)
      : config_(config),
        routes_(std::move(routes)),
        readiness_(std::move(readiness)),
        state_(state) {}
  void Run();
  // Puts every route in place (want) or removes it; "" on success, else the first error. Tells
  // state_ (with `reason` for not announcing). Called under mu_.
  std::string Apply(bool want, const std::string& reason);

  AnnounceConfig config_;    // under mu_
  uint64_t generation_ = 0;  // under mu_: Reconfigure()s so far
  KernelRoutes routes_;      // used under mu_
  Readiness readiness_;
  AnnounceState* const state_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // under mu_
  bool withdrawn_ = false;  // under mu_: Withdraw() or Release() was called
  std::atomic<bool> announced_{false};
  std::string last_reason_;  // the thread's: what was logged last
  std::thread thread_;
};

}  // namespace edge::l4
