#include "l4/backend_discovery.h"

#include "absl/strings/str_format.h"
#include "common/dns/resolve_now.h"
#include "common/log.h"
#include "l4/named_backends.h"
#include "l4/server.h"

namespace edge::l4 {

absl::StatusOr<Lb4Config> BackendDiscovery::ResolveInitial(const Lb4Config& config) {
  std::vector<dns::DnsTarget> targets = NamedTargets(config);
  absl::StatusOr<dns::AnswerMap> answers = dns::ResolveNow(targets, config.dns);
  if (!answers.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("backend name does not resolve: %s", answers.status().message()));
  }
  for (const auto& [key, answer] : *answers) {
    LOG_INFO("dns: %s -> %s (ttl %ds)", key, dns::DescribeEndpoints(answer.endpoints),
             static_cast<int>(answer.ttl_s));
  }
  absl::StatusOr<Lb4Config> expanded = ExpandNamedBackends(config, *answers);
  if (!expanded.ok()) return expanded.status();
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config;
  answers_ = *std::move(answers);
  return expanded;
}

absl::Status BackendDiscovery::Start(Lb4Server* server) {
  std::lock_guard<std::mutex> lock(mu_);
  server_ = server;
  std::unique_ptr<dns::DiscoveryThread> old;
  absl::Status status = Watch(&old);
  return status;
}

absl::Status BackendDiscovery::Watch(std::unique_ptr<dns::DiscoveryThread>* replaced) {
  std::vector<dns::DnsTarget> targets = NamedTargets(config_);
  if (thread_ != nullptr && (targets.empty() || !(thread_dns_ == config_.dns))) {
    *replaced = std::move(thread_);  // joined by the caller, after it unlocks mu_
  }
  if (targets.empty()) return absl::OkStatus();
  if (thread_ == nullptr) {
    auto started = dns::DiscoveryThread::Start(
        config_.dns, [this](const dns::AnswerMap& answers) { OnAnswers(answers); });
    if (!started.ok()) return started.status();
    thread_ = std::move(*started);
    thread_dns_ = config_.dns;
  }
  thread_->Watch(std::move(targets), answers_);
  return absl::OkStatus();
}

absl::Status BackendDiscovery::Reload(const Lb4Config& config) {
  std::unique_ptr<dns::DiscoveryThread> replaced;
  absl::Status status = [&]() -> absl::Status {
    std::lock_guard<std::mutex> lock(mu_);
    // Names already watched with the same [dns] keep their answers; new ones are resolved now.
    dns::AnswerMap known;
    std::vector<dns::DnsTarget> missing;
    for (const dns::DnsTarget& target : NamedTargets(config)) {
      auto it = answers_.find(target.ToString());
      if (it != answers_.end() && config.dns == config_.dns) {
        known.insert(*it);
      } else {
        missing.push_back(target);
      }
    }
    absl::StatusOr<dns::AnswerMap> resolved = dns::ResolveNow(missing, config.dns);
    if (!resolved.ok()) {
      server_->CountFailedReload();
      return absl::UnavailableError(
          absl::StrFormat("backend name does not resolve: %s", resolved.status().message()));
    }
    known.insert(resolved->begin(), resolved->end());
    absl::StatusOr<Lb4Config> expanded = ExpandNamedBackends(config, known);
    if (!expanded.ok()) {
      server_->CountFailedReload();
      return expanded.status();
    }
    absl::Status applied = server_->Reload(*expanded);
    if (!applied.ok()) return applied;
    config_ = config;
    answers_ = std::move(known);
    return Watch(&replaced);
  }();
  replaced.reset();
  return status;
}

void BackendDiscovery::OnAnswers(const dns::AnswerMap& answers) {
  std::lock_guard<std::mutex> lock(mu_);
  if (server_ == nullptr) return;
  for (const auto& [key, answer] : answers) {
    if (answers_.contains(key)) answers_[key] = answer;  // a name the config in force still has
  }
  absl::StatusOr<Lb4Config> expanded = ExpandNamedBackends(config_, answers_);
  absl::Status status =
      expanded.ok() ? server_->Reload(*expanded, /*from_dns=*/true) : expanded.status();
  if (!status.ok()) {
    LOG_ERROR("dns: the changed backends could not be applied, the running config stays: %s",
              status.message());
    return;
  }
  LOG_INFO("dns: backends updated");
}

void BackendDiscovery::Stop() {
  std::unique_ptr<dns::DiscoveryThread> thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    thread = std::move(thread_);
    server_ = nullptr;
  }
  thread.reset();
}

}  // namespace edge::l4
