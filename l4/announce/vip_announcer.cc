#include "l4/announce/vip_announcer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "l4/balancer/eligible.h"

namespace edge::l4 {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);
// How often routes that should be there are written again (someone may have flushed the table).
constexpr int kReassertEveryPolls = 30;

bool Serves(const Pool& pool) {
  const bool checked = pool.config.health.check != HealthConfig::Check::kNone;
  for (size_t i = 0; i < pool.backends.size(); ++i) {
    if (!IsEligible(pool.backends, {}, i)) continue;
    if (!checked || pool.backends[i]->checks_ok.load(std::memory_order_relaxed) > 0) return true;
  }
  return false;
}

std::vector<std::string> HostRoutes(const AnnounceConfig& config) {
  std::vector<std::string> vips;
  for (const auto& vip : config.vips) {
    vips.push_back(absl::StrFormat("%s/%d", vip.IpString(), vip.is_v4() ? 32 : 128));
  }
  return vips;
}

std::string Describe(const AnnounceConfig& config) {
  return absl::StrFormat("%s (table %d)", absl::StrJoin(HostRoutes(config), " "), config.table);
}

bool Has(const std::vector<net::SocketAddress>& vips, const net::SocketAddress& vip) {
  return std::find(vips.begin(), vips.end(), vip) != vips.end();
}

}  // namespace

AnnounceState::View AnnounceState::Get() const {
  std::lock_guard lock(mu_);
  return view_;
}

void AnnounceState::Configure(const AnnounceConfig& config) {
  std::lock_guard lock(mu_);
  view_.enabled = true;
  view_.vips = HostRoutes(config);
  view_.table = config.table;
}

void AnnounceState::Disable() {
  std::lock_guard lock(mu_);
  view_.enabled = false;
  view_.vips.clear();
  view_.table = 0;
  if (view_.announced) ++view_.changes;
  view_.announced = false;
  view_.reason = "announcing is off";
}

void AnnounceState::Set(bool announced, const std::string& reason) {
  std::lock_guard lock(mu_);
  if (announced != view_.announced) ++view_.changes;
  view_.announced = announced;
  view_.reason = announced ? "" : reason;
}

void AnnounceState::CountError() {
  std::lock_guard lock(mu_);
  ++view_.errors;
}

std::string WhyNotServing(const Runtime& runtime, const std::vector<std::string>& pools) {
  std::vector<const Pool*> gated;
  auto find = [&](const std::string& name) -> const Pool* {
    for (const auto& p : runtime.pools) {
      if (p->config.name == name) return p.get();
    }
    return nullptr;
  };
  if (pools.empty()) {
    for (const auto& listener : runtime.listeners) {
      if (listener->pool != nullptr) gated.push_back(listener->pool.get());
      for (const auto* routes : {&listener->routes.exact, &listener->routes.wildcard}) {
        for (const auto& [sni, pool] : *routes) gated.push_back(pool.get());
      }
    }
  } else {
    for (const std::string& name : pools) {
      const Pool* p = find(name);
      if (p == nullptr) return absl::StrFormat("no pool \"%s\" in the config in force", name);
      gated.push_back(p);
    }
  }
  for (const Pool* p : gated) {
    if (!Serves(*p)) return absl::StrFormat("no healthy backend in pool \"%s\"", p->config.name);
  }
  return "";
}

absl::StatusOr<std::unique_ptr<VipAnnouncer>> VipAnnouncer::Start(const AnnounceConfig& config,
                                                                  Readiness readiness,
                                                                  AnnounceState* state) {
  auto routes = KernelRoutes::Open(config.table);
  if (!routes.ok()) return routes.status();
  std::unique_ptr<VipAnnouncer> a(
      new VipAnnouncer(config, *std::move(routes), std::move(readiness), state));
  if (state != nullptr) state->Configure(config);
  // The first state is written before lb4 reports itself started: a route left by a crashed lb4
  // goes now if this one cannot serve yet, and a missing permission stops lb4 at once.
  a->last_reason_ = a->readiness_(config.pools);
  const bool want = a->last_reason_.empty();
  std::string error;
  {
    std::lock_guard lock(a->mu_);
    error = a->Apply(want, a->last_reason_);
  }
  if (!error.empty()) return absl::FailedPreconditionError(error);
  LOG_INFO("announce: %s, through device %s: %s%s", Describe(config), a->routes_.device(),
           want ? "announced" : "not announced: ", a->last_reason_);
  a->thread_ = std::thread([p = a.get()] { p->Run(); });
  return a;
}

VipAnnouncer::~VipAnnouncer() {
  bool withdraw = false;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    withdraw = !withdrawn_;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (withdraw) Withdraw();
}

void VipAnnouncer::Withdraw() {
  std::lock_guard lock(mu_);
  withdrawn_ = true;
  const std::string error = Apply(false, "withdrawn: lb4 is stopping");
  if (!error.empty()) {
    LOG_ERROR("%s", error);
  } else {
    LOG_INFO("announce: %s withdrawn", Describe(config_));
  }
}

void VipAnnouncer::Release() {
  std::lock_guard lock(mu_);
  withdrawn_ = true;
  LOG_INFO("announce: %s left to the lb4 that took over", Describe(config_));
  if (state_ != nullptr) state_->Set(false, "left to the lb4 that took over");
}

absl::Duration VipAnnouncer::drain_delay() const {
  std::lock_guard lock(mu_);
  return config_.drain_delay;
}

void VipAnnouncer::Reconfigure(const AnnounceConfig& config) {
  std::lock_guard lock(mu_);
  if (withdrawn_ || config == config_) return;
  const bool new_table = config.table != config_.table;
  for (const auto& vip : config_.vips) {
    if (!new_table && Has(config.vips, vip)) continue;
    if (absl::Status s = routes_.Delete(vip); !s.ok()) {
      LOG_ERROR("%s", s.message());
      if (state_ != nullptr) state_->CountError();
    }
  }
  LOG_INFO("announce: reload: %s -> %s", Describe(config_), Describe(config));
  config_ = config;
  ++generation_;
  routes_.set_table(config.table);
  if (state_ != nullptr) state_->Configure(config);
  // Written now, not at the next poll: the reload's log line then says what is announced.
  last_reason_ = readiness_(config_.pools);
  const bool want = last_reason_.empty();
  if (const std::string error = Apply(want, last_reason_); !error.empty()) {
    LOG_ERROR("%s (retrying)", error);
    announced_.store(!want);  // the thread's next poll sees a change and tries again
    return;
  }
  LOG_INFO("announce: %s %s%s", Describe(config_),
           want ? "announced" : "not announced: ", last_reason_);
}

std::string VipAnnouncer::Apply(bool want, const std::string& reason) {
  std::string first_error;
  for (const auto& vip : config_.vips) {
    absl::Status s = want ? routes_.Add(vip) : routes_.Delete(vip);
    if (!s.ok() && first_error.empty()) first_error = std::string(s.message());
  }
  if (!first_error.empty()) {
    if (state_ != nullptr) state_->CountError();
    return first_error;
  }
  announced_.store(want);
  if (state_ != nullptr) state_->Set(want, reason);
  return first_error;
}

void VipAnnouncer::Run() {
  int polls = 0;
  std::string last_error;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, kPoll, [&] { return stopping_; });
    if (stopping_ || withdrawn_) continue;
    const std::vector<std::string> pools = config_.pools;
    const uint64_t generation = generation_;
    lock.unlock();
    std::string reason = readiness_(pools);
    lock.lock();
    // A reload meanwhile: this answer was for the old pools.
    if (stopping_ || withdrawn_ || generation != generation_) continue;
    const bool want = reason.empty();
    const bool changed = want != announced_.load() || !last_error.empty();
    if (!changed && !(want && ++polls % kReassertEveryPolls == 0)) continue;
    const std::string error = Apply(want, reason);
    if (!error.empty()) {
      if (error != last_error) LOG_ERROR("%s (retrying)", error);
      last_error = error;
      continue;
    }
    last_error.clear();
    if (changed && reason != last_reason_) {
      if (want) {
        LOG_INFO("announce: %s announced", Describe(config_));
      } else {
        LOG_WARN("announce: %s withdrawn: %s", Describe(config_), reason);
      }
    }
    last_reason_ = reason;
  }
}

}  // namespace edge::l4
