#include "l4/health/health_checker.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace edge::l4 {

namespace {

int64_t Ns(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

std::string Plural(int n, const char* one, const char* many) {
  return absl::StrFormat("%d %s", n, n == 1 ? one : many);
}

std::string Pretty(int64_t ns) { return absl::FormatDuration(absl::Nanoseconds(ns)); }

bool ActiveOn(const HealthConfig& c) { return c.check != HealthConfig::Check::kNone; }
bool PassiveOn(const HealthConfig& c) { return c.passive_failures > 0; }

}  // namespace

// One backend of one pool, as the checker sees it.
struct HealthChecker::Target {
  std::shared_ptr<Backend> backend;
  PoolState* pool = nullptr;  // null once retired
  HealthConfig config;
  // Where the active checks go: the backend's address, or that IP with [pool.health] port or
  // the backend's health_port (HealthCheckAddress).
  net::SocketAddress check_address;
  health::ProbeSpec spec;
  health::RiseFall rise_fall{1, 1};
  health::EjectionHistory ejection;
  bool refusal_logged = false;  // "not ejected: max_ejection_percent" said for this streak
  int64_t last_start_ns = 0;
  std::unique_ptr<health::Probe> probe;
  uring::Timer timer;

  Target(HealthChecker* checker, std::shared_ptr<Backend> b)
      : backend(std::move(b)), timer(&TimerThunk, this), checker_(checker) {}
  static void TimerThunk(void* self) {
    auto* t = static_cast<Target*>(self);
    t->checker_->StartProbe(t);
  }
  HealthChecker* checker_;
};

struct HealthChecker::PoolState {
  std::shared_ptr<Pool> pool;
  std::string name;
  HealthConfig config;
  std::vector<Target*> targets;
  bool any_healthy = true;
};

HealthChecker::HealthChecker(Options options)
    : options_(options), rng_(options.seed != 0 ? options.seed : std::random_device{}()) {}

absl::StatusOr<std::unique_ptr<HealthChecker>> HealthChecker::Start(
    std::shared_ptr<const Runtime> runtime, Options options) {
  std::unique_ptr<HealthChecker> checker(new HealthChecker(options));
  std::promise<absl::Status> ready;
  std::future<absl::Status> result = ready.get_future();
  checker->thread_ =
      std::thread([c = checker.get(), runtime, &ready] { c->ThreadMain(runtime, &ready); });
  absl::Status status = result.get();
  if (!status.ok()) {
    checker->thread_.join();
    return status;
  }
  checker->running_ = true;
  return checker;
}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::ThreadMain(std::shared_ptr<const Runtime> runtime,
                               std::promise<absl::Status>* ready) {
  pthread_setname_np(pthread_self(), "lb4-health");
  auto loop = uring::EventLoop::Create(uring::RingOptions{256, 1024});
  if (!loop.ok()) {
    ready->set_value(absl::Status(loop.status().code(),
                                  absl::StrFormat("health checks: %s", loop.status().message())));
    return;
  }
  loop_ = std::move(*loop);
  Apply(runtime);
  ready->set_value(absl::OkStatus());  // `ready` dies with Start(): not touched after this line
  absl::Status run = loop_->Run();
  if (!run.ok()) LOG_ERROR("health checks stopped: %s", run.message());
  // Every probe has finished (BeginStop waited for them) or the ring is broken: either way no
  // operation of ours is dispatched any more. The loop itself goes in Stop(), after the join,
  // so that a Post() racing with this end never finds it gone.
  loop_->timers().Cancel(&sweep_timer_);
  loop_->timers().Cancel(&stop_timer_);
  targets_.clear();
  retiring_.clear();
  pools_.clear();
}

void HealthChecker::Update(std::shared_ptr<const Runtime> runtime) {
  std::lock_guard<std::mutex> lock(control_mu_);
  if (!running_) return;
  loop_->Post([this, runtime = std::move(runtime)] {
    if (!stopping_) Apply(runtime);
  });
}

void HealthChecker::Stop() {
  std::lock_guard<std::mutex> lock(control_mu_);
  if (!running_) return;
  running_ = false;
  loop_->Post([this] { BeginStop(); });
  thread_.join();
  loop_.reset();
}

void HealthChecker::Apply(const std::shared_ptr<const Runtime>& runtime) {
  const int64_t now = loop_->now_ns();
  std::unordered_map<const Backend*, std::unique_ptr<Target>> old = std::move(targets_);
  targets_.clear();
  std::vector<std::unique_ptr<PoolState>> pools;
  for (const std::shared_ptr<Pool>& pool : runtime->pools) {
    const HealthConfig& hc = pool->config.health;
    if (!ActiveOn(hc) && !PassiveOn(hc)) {
      // No health for this pool: whatever a previous config concluded no longer holds.
      for (const auto& b : pool->backends) {
        b->check_up.store(true);
        b->ejected.store(false);
        b->healthy.store(true);
      }
      continue;
    }
    auto state = std::make_unique<PoolState>();
    state->pool = pool;
    state->name = pool->config.name;
    state->config = hc;
    std::string description;
    if (ActiveOn(hc)) {
      description = absl::StrFormat(
          "%s health checks%s%s every %s (timeout %s, rise %d, fall %d)", ConfigName(hc.check),
          hc.check == HealthConfig::Check::kHttp
              ? absl::StrFormat(" of %s (pass: %s)", hc.path, hc.expect_status.ToString())
              : "",
          hc.port != 0 ? absl::StrFormat(" on port %d", hc.port) : "",
          absl::FormatDuration(hc.interval), absl::FormatDuration(hc.timeout), hc.rise, hc.fall);
    } else {
      description = "no active health checks";
    }
    if (PassiveOn(hc)) {
      absl::StrAppendFormat(&description,
                            "; ejection after %d consecutive connect failures or resets "
                            "(%s, doubling up to %s; at most %d%% of the backends)",
                            hc.passive_failures, absl::FormatDuration(hc.ejection_time),
                            absl::FormatDuration(hc.max_ejection_time), hc.max_ejection_percent);
    }
    LOG_INFO("pool \"%s\": %s", state->name, description);

    for (size_t i = 0; i < pool->backends.size(); ++i) {
      const std::shared_ptr<Backend>& b = pool->backends[i];
      std::unique_ptr<Target> t;
      bool was_active = false;
      int64_t old_interval = 0;
      if (auto it = old.find(b.get()); it != old.end()) {
        t = std::move(it->second);
        old.erase(it);
        was_active = ActiveOn(t->config);
        old_interval = Ns(t->config.interval);
      } else {
        t = std::make_unique<Target>(this, b);
        t->rise_fall = health::RiseFall(hc.rise, hc.fall, b->check_up.load());
      }
      t->pool = state.get();
      t->config = hc;
      // pool->backends is in config order (BuildRuntime), so index i is this backend's entry.
      t->check_address = HealthCheckAddress(pool->config.backends[i], hc);
      t->rise_fall.SetThresholds(hc.rise, hc.fall);
      if (ActiveOn(hc)) {
        if (t->probe == nullptr) {
          Target* raw = t.get();
          t->probe = std::make_unique<health::Probe>(
              loop_.get(), [this, raw](const health::ProbeOutcome& o) { OnProbeDone(raw, o); });
        }
        // A probe in flight schedules the next one when it ends, under the new settings.
        if (!t->probe->running() && (!was_active || Ns(hc.interval) != old_interval)) {
          loop_->timers().Schedule(&t->timer,
                                   health::FirstProbeNs(now, Ns(hc.interval), Fraction()));
        }
      } else {
        loop_->timers().Cancel(&t->timer);
        if (t->probe != nullptr && t->probe->running()) t->probe->Cancel();
        t->rise_fall = health::RiseFall(hc.rise, hc.fall, true);
        b->check_up.store(true);
      }
      if (!PassiveOn(hc) && b->ejected.load()) EndEjection(t.get(), now);
      state->targets.push_back(t.get());
      targets_.emplace(b.get(), std::move(t));
    }
    pools.push_back(std::move(state));
  }
  // Backends no longer configured (or in a pool without health now).
  for (auto& [backend, t] : old) {
    loop_->timers().Cancel(&t->timer);
    t->pool = nullptr;
    if (t->probe != nullptr && t->probe->running()) {
      t->probe->Cancel();
      retiring_.push_back(std::move(t));
    }
  }
  pools_ = std::move(pools);
  for (auto& pool : pools_) {
    for (Target* t : pool->targets) SetHealthy(pool.get(), t);
  }
  bool any_passive = false;
  for (const auto& pool : pools_) any_passive |= PassiveOn(pool->config);
  if (any_passive && !sweep_timer_.armed()) {
    loop_->timers().Schedule(&sweep_timer_, now + options_.sweep_ns);
  } else if (!any_passive) {
    loop_->timers().Cancel(&sweep_timer_);
  }
}

void HealthChecker::StartProbe(Target* t) {
  if (stopping_ || t->pool == nullptr || t->probe == nullptr || t->probe->running()) return;
  // The spec follows the config in force (a reload may have changed it since the last probe).
  const HealthConfig& hc = t->config;
  t->spec.http = hc.check == HealthConfig::Check::kHttp;
  t->spec.address = t->check_address;
  t->spec.request =
      t->spec.http ? health::BuildHealthRequest(hc.path, t->check_address.ToString(), "lb4-health")
                   : "";
  t->spec.expect = hc.expect_status;
  t->spec.timeout_ns = Ns(hc.timeout);
  t->last_start_ns = loop_->now_ns();
  t->probe->Start(&t->spec);
}

void HealthChecker::OnProbeDone(Target* t, const health::ProbeOutcome& outcome) {
  if (stopping_) {
    MaybeFinishStop();
    return;
  }
  if (t->pool == nullptr) {  // retired: drop it once this callback has returned
    loop_->Post([this, t] {
      std::erase_if(retiring_, [t](const std::unique_ptr<Target>& r) { return r.get() == t; });
    });
    return;
  }
  if (!ActiveOn(t->config)) return;  // turned off while this probe ran
  Backend& b = *t->backend;
  const bool ok = outcome.verdict.ok;
  b.set_last_check(
      CheckResult{ok, outcome.verdict.detail, absl::Now(), absl::Nanoseconds(outcome.took_ns)});
  const bool changed = t->rise_fall.Record(ok);
  if (changed) {
    b.check_up.store(t->rise_fall.up());
    SetHealthy(t->pool, t);
  }
  // After the state: whoever sees the count sees what the check concluded.
  (ok ? b.checks_ok : b.checks_failed).fetch_add(1);
  if (changed) {
    if (t->rise_fall.up()) {
      LOG_INFO("backend %s (pool \"%s\") is UP: %s", b.key, t->pool->name,
               Plural(t->rise_fall.successes(), "consecutive success", "consecutive successes"));
    } else {
      LOG_WARN("backend %s (pool \"%s\") is DOWN: %s, last: %s", b.key, t->pool->name,
               Plural(t->rise_fall.failures(), "consecutive failure", "consecutive failures"),
               outcome.verdict.detail);
    }
  } else {
    LOG_DEBUG("backend %s (pool \"%s\"): check %s: %s", b.key, t->pool->name, ok ? "ok" : "failed",
              outcome.verdict.detail);
  }
  const int64_t now = uring::MonotonicNowNs();
  loop_->timers().Schedule(
      &t->timer, health::NextProbeNs(t->last_start_ns, Ns(t->config.interval), Fraction(), now));
}

void HealthChecker::Sweep() {
  const int64_t now = loop_->now_ns();
  for (auto& pool : pools_) {
    const HealthConfig& hc = pool->config;
    if (!PassiveOn(hc)) continue;
    size_t ejected = 0;
    for (Target* t : pool->targets) {
      if (t->backend->ejected.load() && now >= t->backend->ejected_until_ns.load()) {
        EndEjection(t, now);
      }
      ejected += t->backend->ejected.load() ? 1 : 0;
    }
    const size_t cap = health::MaxEjected(pool->pool->backends.size(), hc.max_ejection_percent);
    for (Target* t : pool->targets) {
      Backend& b = *t->backend;
      if (b.ejected.load()) continue;
      const uint32_t failures = b.consecutive_failures.load(std::memory_order_relaxed);
      if (failures < static_cast<uint32_t>(hc.passive_failures)) {
        t->refusal_logged = false;
        continue;
      }
      if (ejected < cap) {
        Eject(*pool, t, now);
        ++ejected;
      } else if (!t->refusal_logged) {
        t->refusal_logged = true;
        LOG_WARN(
            "backend %s (pool \"%s\") not ejected after %d consecutive connect failures or "
            "resets: max_ejection_percent %d%% allows %d of %d backends ejected at once",
            b.key, pool->name, static_cast<int>(failures), hc.max_ejection_percent,
            static_cast<int>(cap), static_cast<int>(pool->pool->backends.size()));
      }
    }
  }
  loop_->timers().Schedule(&sweep_timer_, now + options_.sweep_ns);
}

void HealthChecker::Eject(PoolState& pool, Target* t, int64_t now) {
  const HealthConfig& hc = pool.config;
  Backend& b = *t->backend;
  const int64_t duration =
      health::EjectionDurationNs(t->ejection, now, Ns(hc.ejection_time), Ns(hc.max_ejection_time));
  const uint32_t failures = b.consecutive_failures.exchange(0, std::memory_order_relaxed);
  t->ejection.last_duration_ns = duration;
  t->refusal_logged = false;
  b.ejection_ns.store(duration);
  b.ejected_until_ns.store(now + duration);
  b.ejected.store(true);
  SetHealthy(&pool, t);
  b.ejections.fetch_add(1);  // after the state: whoever sees the count sees the ejection
  LOG_WARN(
      "backend %s (pool \"%s\") ejected for %s: %d consecutive connect failures or resets, "
      "last: %s",
      b.key, pool.name, Pretty(duration), static_cast<int>(failures),
      PassiveFailureText(b.last_failure.load(std::memory_order_relaxed)));
}

void HealthChecker::EndEjection(Target* t, int64_t now) {
  Backend& b = *t->backend;
  b.consecutive_failures.store(0, std::memory_order_relaxed);  // failures of the ejected time
  b.ejected.store(false);
  if (t->pool != nullptr) SetHealthy(t->pool, t);
  t->ejection.last_end_ns = now;
  LOG_INFO("backend %s (pool \"%s\") ejection ended after %s%s", b.key,
           t->pool != nullptr ? t->pool->name : std::string("?"),
           Pretty(t->ejection.last_duration_ns),
           b.check_up.load() ? "" : "; still DOWN by its health checks");
}

void HealthChecker::SetHealthy(PoolState* pool, Target* t) {
  Backend& b = *t->backend;
  b.healthy.store(b.check_up.load() && !b.ejected.load());
  if (pool == nullptr) return;
  size_t healthy = 0;
  for (const auto& other : pool->pool->backends) healthy += other->healthy.load() ? 1 : 0;
  if (healthy == 0 && pool->any_healthy) {
    LOG_WARN("pool \"%s\": no healthy backend; new connections are refused", pool->name);
  } else if (healthy > 0 && !pool->any_healthy) {
    LOG_INFO("pool \"%s\": %d of %d backends healthy again", pool->name, static_cast<int>(healthy),
             static_cast<int>(pool->pool->backends.size()));
  }
  pool->any_healthy = healthy > 0;
}

void HealthChecker::BeginStop() {
  stopping_ = true;
  loop_->timers().Cancel(&sweep_timer_);
  for (auto& [backend, t] : targets_) {
    loop_->timers().Cancel(&t->timer);
    if (t->probe != nullptr) t->probe->Cancel();
  }
  for (auto& t : retiring_) {
    if (t->probe != nullptr) t->probe->Cancel();
  }
  // A cancelled operation completes within microseconds; this is a guard, not a wait.
  loop_->timers().Schedule(&stop_timer_, loop_->now_ns() + 2'000'000'000);
  MaybeFinishStop();
}

void HealthChecker::MaybeFinishStop() {
  for (const auto& [backend, t] : targets_) {
    if (t->probe != nullptr && t->probe->running()) return;
  }
  for (const auto& t : retiring_) {
    if (t->probe != nullptr && t->probe->running()) return;
  }
  loop_->Stop();
}

}  // namespace edge::l4
