#pragma once
// HealthProbe: the active health checks of one upstream server, on the gateway's loop. The check
// itself is common/health's Probe (tcp connect, or http GET of `path` with Host: the checked
// address, passing on `expect_status`, default 2xx/3xx like lb4); this class only schedules it:
// the first check after the delay given to Start, then each 0.9 to 1.0 interval after the previous
// one started (NextProbeNs: spread, never more than one interval apart), never two at once.
// Each outcome goes to the callback; the caller applies rise/fall (health::RiseFall).

#include <cstdint>
#include <functional>
#include <memory>
#include <random>

#include "common/health/check_config.h"
#include "common/health/health_policy.h"
#include "common/health/probe.h"
#include "common/net/address.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"

namespace edge::l7 {

class HealthProbe {
 public:
  using Callback = std::function<void(const health::ProbeOutcome&)>;

  // Checks `address` (its port replaced by config.port when set) as `config` says.
  HealthProbe(uring::EventLoop* loop, const net::SocketAddress& address,
              const health::ActiveCheckConfig& config, Callback callback);
  // Stops: no callback after it. A check in flight is cancelled and finishes on the loop.
  ~HealthProbe();
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Runs the first check `first_delay_ns` from now (spread the servers' checks out).
  void Start(int64_t first_delay_ns);
  // The loop has stopped for good (server shutdown): a check in flight is dropped with its
  // socket rather than cancelled, since no completion will arrive. Call before destroying.
  void DetachFromStoppedLoop();
  // The same for the checks of probes already destroyed (a reload) whose cancellation had not
  // completed when the loop stopped: frees them, on the loop's thread, after it stopped.
  static void FreeOrphansAfterLoop();

 private:
  // What outlives this object while a cancelled check finishes: the Probe, whose pending
  // operations point at it, and the spec whose request bytes a pending send reads.
  struct Core {
    HealthProbe* owner = nullptr;  // null once the HealthProbe is gone
    health::ProbeSpec spec;
    std::unique_ptr<health::Probe> probe;
  };

  static void TickThunk(void* self) { static_cast<HealthProbe*>(self)->OnTick(); }
  void OnTick();
  void OnDone(const health::ProbeOutcome& outcome);

  uring::EventLoop* loop_;
  int64_t interval_ns_;
  Callback callback_;
  Core* core_;
  uring::Timer tick_timer_;
  int64_t last_start_ns_ = 0;
  std::minstd_rand rng_;
};

}  // namespace edge::l7
