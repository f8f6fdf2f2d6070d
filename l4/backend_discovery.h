#pragma once
// BackendDiscovery: keeps lb4's named backends (edge.toml `address = "host:port"`, `srv = ...`)
// in step with DNS. A changed answer is applied exactly like a SIGHUP reload of the config in
// force (Lb4Server::Reload): a backend whose address stays keeps its Backend object (connections,
// health, counts), Maglev tables are rebuilt from the same sorted keys, so only the clients of
// added or removed backends move, and removed backends drain.
//
// Threads: DNS runs on a DiscoveryThread of its own; its answers and SIGHUP reloads (the signal
// thread) meet here under one mutex, which also serialises every Lb4Server::Reload, so a late
// answer is always applied to the newest config and never undoes a reload.

#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "common/dns/answer.h"
#include "common/dns/discovery_thread.h"
#include "l4/config.h"

namespace edge::l4 {

class Lb4Server;

class BackendDiscovery {
 public:
  // Resolves every name of `config` (blocking: for the start, before any worker runs) and returns
  // the config to build the first Runtime from, remembering `config` and the answers. A name that
  // does not resolve fails the start: lb4 exits 2, as for any config naming what does not exist
  // (HAProxy's default init-addr); a pool is never started empty.
  absl::StatusOr<Lb4Config> ResolveInitial(const Lb4Config& config);

  // From here on, keeps `server` up to date (starts the DNS thread when there are names).
  absl::Status Start(Lb4Server* server);

  // SIGHUP: resolves the names `config` adds (those already watched keep their answers), applies
  // it through server->Reload and watches its names. On error nothing changes.
  absl::Status Reload(const Lb4Config& config);

  // Stops the DNS thread (before the server goes).
  void Stop();

 private:
  // Under mu_: (re)starts the thread for config_.dns and watches config_'s names. A thread to
  // replace is moved to *replaced, for the caller to join once it has unlocked mu_ (the thread
  // may be waiting for mu_ in OnAnswers).
  absl::Status Watch(std::unique_ptr<dns::DiscoveryThread>* replaced);
  void OnAnswers(const dns::AnswerMap& answers);

  std::mutex mu_;
  Lb4Config config_;        // as written, names unresolved; guarded by mu_
  dns::AnswerMap answers_;  // in force; guarded by mu_
  Lb4Server* server_ = nullptr;
  std::unique_ptr<dns::DiscoveryThread> thread_;  // null while no name is configured
  dns::DnsConfig thread_dns_;                     // what thread_ was started with
};

}  // namespace edge::l4
