#include "l7/server/upstream_health.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/health/health_policy.h"
#include "common/log.h"
#include "l7/server/gateway_runtime.h"

namespace edge::l7 {

UpstreamHealth::UpstreamHealth(const UpstreamConfig& config, std::vector<UpstreamServer*> servers)
    : config_(config), servers_(std::move(servers)) {}

void UpstreamHealth::InheritCounters(const UpstreamHealth& old) {
  panic_requests_ = old.panic_requests_ + (old.panic_ ? old.Requests() - old.panic_base_ : 0);
  // A panic goes on across a reload without a second "panic" line; the next evaluation ends it
  // (and says so) if the new generation's servers or threshold no longer call for it.
  panic_ = old.panic_;
  panic_base_ = Requests();
}

UpstreamServer* UpstreamHealth::Find(const PassiveHealth& passive) const {
  for (UpstreamServer* s : servers_) {
    if (&s->passive == &passive) return s;
  }
  return nullptr;
}

uint64_t UpstreamHealth::Requests() const {
  uint64_t n = 0;
  for (const UpstreamServer* s : servers_) n += s->requests;
  return n;
}

size_t UpstreamHealth::Healthy(int64_t now_ns) const {
  size_t n = 0;
  for (const UpstreamServer* s : servers_) n += s->Healthy(now_ns) ? 1 : 0;
  return n;
}

bool UpstreamHealth::MayEject(const PassiveHealth& server, int64_t now_ns) {
  size_t ejected = 0;
  for (const UpstreamServer* s : servers_) ejected += s->passive.ejected(now_ns) ? 1 : 0;
  const size_t cap = health::MaxEjected(servers_.size(), config_.max_ejection_percent);
  if (ejected < cap) return true;
  if (!refusal_logged_) {
    refusal_logged_ = true;
    const UpstreamServer* s = Find(server);
    LOG_WARN(
        "upstream \"%s\" server %s not ejected after %d consecutive failures: "
        "max_ejection_percent %d%% allows %d of %d servers ejected at once",
        config_.name, s != nullptr ? s->key : std::string("?"), server.consecutive_failures(),
        config_.max_ejection_percent, static_cast<int>(cap), static_cast<int>(servers_.size()));
  }
  return false;
}

void UpstreamHealth::OnEjected(const PassiveHealth& server, int failures, int64_t /*now_ns*/) {
  refusal_logged_ = false;
  stale_ = true;
  const UpstreamServer* s = Find(server);
  LOG_WARN("upstream \"%s\" server %s ejected for %s (ejection %d): %d consecutive failures",
           config_.name, s != nullptr ? s->key : std::string("?"),
           absl::FormatDuration(absl::Nanoseconds(server.last_ejection_ns())),
           static_cast<int>(server.ejections()), failures);
}

bool UpstreamHealth::InPanic(int64_t now_ns) {
  if (now_ns == evaluated_ns_ && !stale_) return panic_;
  evaluated_ns_ = now_ns;
  stale_ = false;
  if (config_.panic_threshold <= 0 && !panic_) return false;
  const size_t healthy = Healthy(now_ns);
  const bool panic = health::InPanic(healthy, servers_.size(), config_.panic_threshold);
  if (panic == panic_) return panic_;
  // The transition is seen before the attempt that triggered the evaluation is counted in
  // UpstreamServer::requests, so Requests() splits the attempts exactly at it.
  const uint64_t requests = Requests();
  if (panic) {
    panic_base_ = requests;
    LOG_WARN(
        "upstream \"%s\": %d of %d servers healthy, below panic_threshold %d%%: panic, every "
        "server gets requests",
        config_.name, static_cast<int>(healthy), static_cast<int>(servers_.size()),
        config_.panic_threshold);
  } else {
    panic_requests_ += requests - panic_base_;
    LOG_INFO("upstream \"%s\": %d of %d servers healthy: panic over", config_.name,
             static_cast<int>(healthy), static_cast<int>(servers_.size()));
  }
  panic_ = panic;
  return panic_;
}

uint64_t UpstreamHealth::PanicRequests(int64_t now_ns) {
  const bool panic = InPanic(now_ns);
  return panic_requests_ + (panic ? Requests() - panic_base_ : 0);
}

}  // namespace edge::l7
