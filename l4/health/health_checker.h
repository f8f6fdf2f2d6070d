#pragma once
// HealthChecker: active and passive health of every pool's backends, run on one thread of its own
// with its own io_uring event loop. One checker serves the whole process, so each backend is
// checked once per interval in total, whatever the number of workers.
//
// Active checks ([pool.health] check = "tcp" | "http"): each backend is probed
// (common/health/probe.h) at its address, or at that IP with [pool.health] port / its own
// health_port (HealthCheckAddress), first at a random moment within one interval of its start, then
// 0.9 to 1.0 interval after the previous probe started (common/health/health_policy.h: spread, yet
// never more than one interval apart). `fall` consecutive failures take it down, `rise` consecutive
// successes bring it back (Backend::check_up). Every backend starts up: a dead one is taken out by
// its first `fall` checks, within fall x interval (+ one timeout); until then connect retries move
// its clients.
//
// Passive checks (passive_failures > 0): the workers count each backend's consecutive connect
// failures and resets (Backend::RecordFailure; a successful connect clears the count). Every
// sweep (100ms) the checker ejects a backend whose count reached passive_failures, for
// ejection_time, doubled for each repeated ejection up to max_ejection_time
// (EjectionDurationNs), unless max_ejection_percent of the pool is ejected already. When the
// ejection ends the backend gets connections again; if they fail again it is ejected for longer.
//
// Backend::healthy = check_up && !ejected is written here only; the balancers skip a backend
// while it is false. Live connections are never cut by health: only new ones go elsewhere.
// When no backend of a pool is healthy, new connections are refused at once (and counted as
// refused, reason no_backend) instead of waiting on dead backends.
//
// Every change is logged with its reason:
//   backend 127.0.0.1:8001 (pool "gateways") is DOWN: 3 consecutive failures, last: connect refused
//   backend 127.0.0.1:8001 (pool "gateways") is UP: 2 consecutive successes
//   backend 127.0.0.1:8001 (pool "gateways") ejected for 10s: 5 consecutive connect failures or
//     resets, last: connect refused
//   backend 127.0.0.1:8001 (pool "gateways") ejection ended after 10s

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/health/health_policy.h"
#include "common/health/probe.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"
#include "l4/runtime.h"

namespace edge::l4 {

class HealthChecker {
 public:
  struct Options {
    int64_t sweep_ns = 100'000'000;  // how often passive counts and ejection ends are examined
    uint64_t seed = 0;               // of the jitter; 0: random
  };

  // Starts the thread (and its ring) and begins checking `runtime`'s pools.
  static absl::StatusOr<std::unique_ptr<HealthChecker>> Start(
      std::shared_ptr<const Runtime> runtime, Options options);
  static absl::StatusOr<std::unique_ptr<HealthChecker>> Start(
      std::shared_ptr<const Runtime> runtime) {
    return Start(std::move(runtime), Options{});
  }
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Thread-safe: a reload. A backend kept by BuildRuntime (the same Backend object) keeps its
  // state, streaks and schedule, under its pool's new settings; a new one starts up and is first
  // checked at a random moment within an interval; the checks of a backend that is gone stop.
  // A pool whose checks are turned off gets every backend back up and un-ejected.
  void Update(std::shared_ptr<const Runtime> runtime);
  // Cancels the checks in flight and joins the thread. Backends keep their last state.
  void Stop();

 private:
  struct Target;
  struct PoolState;

  explicit HealthChecker(Options options);
  void ThreadMain(std::shared_ptr<const Runtime> runtime, std::promise<absl::Status>* ready);
  void Apply(const std::shared_ptr<const Runtime>& runtime);
  void StartProbe(Target* target);
  void OnProbeDone(Target* target, const health::ProbeOutcome& outcome);
  void Sweep();
  void Eject(PoolState& pool, Target* target, int64_t now);
  void EndEjection(Target* target, int64_t now);
  void SetHealthy(PoolState* pool, Target* target);
  void BeginStop();
  void MaybeFinishStop();
  double Fraction() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  static void SweepThunk(void* self) { static_cast<HealthChecker*>(self)->Sweep(); }
  static void StopThunk(void* self) { static_cast<HealthChecker*>(self)->loop_->Stop(); }

  const Options options_;
  std::mt19937_64 rng_;
  std::mutex control_mu_;  // Update vs Stop
  bool running_ = false;   // guarded by control_mu_
  std::thread thread_;
  // --- The health thread only, after Start. ---
  std::unique_ptr<uring::EventLoop> loop_;
  std::unordered_map<const Backend*, std::unique_ptr<Target>> targets_;
  std::vector<std::unique_ptr<Target>> retiring_;  // gone from the config, a probe in flight
  std::vector<std::unique_ptr<PoolState>> pools_;
  bool stopping_ = false;
  uring::Timer sweep_timer_{&SweepThunk, this};
  uring::Timer stop_timer_{&StopThunk, this};
};

}  // namespace edge::l4
