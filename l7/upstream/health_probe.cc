#include "l7/upstream/health_probe.h"

#include <unordered_set>

#include "absl/time/time.h"

namespace edge::l7 {

namespace {
// Cores of destroyed HealthProbes whose cancelled check has not finished yet (per loop thread).
// Normally each is freed by its own callback; FreeOrphansAfterLoop frees those left at shutdown.
thread_local std::unordered_set<void*>* orphans = nullptr;
}  // namespace

HealthProbe::HealthProbe(uring::EventLoop* loop, const net::SocketAddress& address,
                         const health::ActiveCheckConfig& config, Callback callback)
    : loop_(loop),
      interval_ns_(absl::ToInt64Nanoseconds(config.interval)),
      callback_(std::move(callback)),
      core_(new Core),
      tick_timer_(&TickThunk, this),
      rng_(std::random_device{}()) {
  health::ProbeSpec& spec = core_->spec;
  spec.http = config.check == health::CheckKind::kHttp;
  spec.address = address;
  if (config.port != 0) spec.address.set_port(config.port);
  if (spec.http) {
    spec.request =
        health::BuildHealthRequest(config.path, spec.address.ToString(), "gw7-health-check");
  }
  spec.timeout_ns = absl::ToInt64Nanoseconds(config.timeout);
  spec.expect = config.expect_status;
  core_->owner = this;
  Core* core = core_;
  core_->probe = std::make_unique<health::Probe>(loop, [loop, core](const health::ProbeOutcome& o) {
    if (core->owner != nullptr) {
      core->owner->OnDone(o);
      return;
    }
    // Orphaned by ~HealthProbe: free the probe once its own callback has returned.
    loop->Post([core] {
      if (orphans != nullptr && orphans->erase(core) > 0) delete core;
    });
  });
}

HealthProbe::~HealthProbe() {
  loop_->timers().Cancel(&tick_timer_);
  if (core_ == nullptr) return;
  if (core_->probe->running()) {
    // ~Probe requires no operation in flight: cancel, and let the callback free it.
    core_->owner = nullptr;
    if (orphans == nullptr) orphans = new std::unordered_set<void*>();
    orphans->insert(core_);
    core_->probe->Cancel();
  } else {
    delete core_;
  }
}

void HealthProbe::DetachFromStoppedLoop() {
  loop_->timers().Cancel(&tick_timer_);
  delete core_;  // ~Probe closes the socket; the ring goes with the loop
  core_ = nullptr;
}

void HealthProbe::FreeOrphansAfterLoop() {
  if (orphans == nullptr) return;
  for (void* core : *orphans) delete static_cast<Core*>(core);
  delete orphans;
  orphans = nullptr;
}

void HealthProbe::Start(int64_t first_delay_ns) {
  loop_->timers().Schedule(&tick_timer_, loop_->now_ns() + first_delay_ns);
}

void HealthProbe::OnTick() {
  if (core_->probe->running()) return;  // OnDone schedules the next one
  last_start_ns_ = loop_->now_ns();
  core_->probe->Start(&core_->spec);
}

void HealthProbe::OnDone(const health::ProbeOutcome& outcome) {
  const double fraction = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  loop_->timers().Schedule(&tick_timer_, health::NextProbeNs(last_start_ns_, interval_ns_, fraction,
                                                             uring::MonotonicNowNs()));
  callback_(outcome);
}

}  // namespace edge::l7
