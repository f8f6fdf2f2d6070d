#pragma once
// Lb4Server: the running load balancer: listening sockets, one Worker per thread, and the
// process-wide counters. Start() fails without side effects left running.

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/admin/runtime_control.h"
#include "l4/health/health_checker.h"
#include "l4/runtime.h"
#include "l4/stats.h"
#include "l4/worker.h"

namespace edge::l4 {

class Lb4Server {
 public:
  // Listening sockets received from a running lb4 (see handover.h), by bind address.
  using InheritedSockets = std::vector<std::pair<net::SocketAddress, int>>;

  // Binds every listener (reusing `inherited` sockets where the bind address matches) and starts
  // the workers. Takes ownership of the inherited sockets, also on failure.
  static absl::StatusOr<std::unique_ptr<Lb4Server>> Start(std::shared_ptr<const Runtime> runtime,
                                                          InheritedSockets inherited = {});
  ~Lb4Server();

  // Stops accepting on every listener; live connections go on.
  void BeginDrain();
  // Applies a new config without dropping connections (see Worker::ApplyRuntime). On error
  // (a new bind address that cannot be bound, an invalid pool) nothing changes. `workers`,
  // `buffer_size` and `buffers_per_worker` need a restart: a change is reported and ignored.
  // Callers serialise reloads (l4/backend_discovery.h does, for SIGHUP and DNS changes alike).
  // `from_dns`: the config in force with new DNS answers, not a new file: not counted in
  // reloads_ok/failed (lb4_dns_changes_total counts those).
  absl::Status Reload(const Lb4Config& config, bool from_dns = false);
  // Runtime control (POST /backends/{pool}/{server}/...; common/admin/runtime_control.h), from
  // the admin thread. drain and enable flip Backend::admin_drained, which every worker's
  // balancer reads at each pick (as it reads health); a weight change rebuilds that pool's
  // balancer (Maglev table, round-robin schedule) and publishes the new snapshot to every worker
  // as a reload does, without re-reading any file. Serialised with Reload. NotFound for an
  // unknown pool or server (the server named as /status shows it, "127.0.0.1:8001").
  struct ControlOutcome {
    std::shared_ptr<Backend> backend;
    uint32_t config_weight = 1;  // what the config says
    bool was_drained = false;
    uint32_t was_weight = 1;  // in force before the command
  };
  absl::StatusOr<ControlOutcome> Control(const admin::ControlCommand& command);
  // Duplicates of every listening socket of every worker, for a handover (caller closes them).
  std::vector<std::pair<net::SocketAddress, int>> DupListenSockets();
  // Waits until no connection is left or `timeout` passes. True when drained.
  bool WaitDrained(absl::Duration timeout);
  // Ends every connection and joins the workers.
  void Stop();

  int64_t active_connections() const { return shared_.active.load(); }
  int64_t splice_pipes() const { return shared_.pipes.load(); }  // open now, all workers
  bool draining() const { return draining_.load(); }
  // SIGTERM was taken: /healthz answers 503 from now on, so whatever checks lb4 (a router's
  // probe, an orchestrator) moves away while lb4 still accepts for [lb4.announce] drain_delay.
  void MarkStopping() { stopping_.store(true); }
  bool stopping() const { return stopping_.load() || draining_.load(); }
  // The config in force (a snapshot: a reload may replace it at any time).
  std::shared_ptr<const Runtime> runtime() const;
  uint64_t reloads_ok() const { return reloads_ok_.load(); }
  uint64_t reloads_failed() const { return reloads_failed_.load(); }
  void CountFailedReload() { reloads_failed_.fetch_add(1); }
  // [lb4.access_log]'s sink in force (null: off), for its counters.
  const log::LineSink* connection_log() const { return shared_.connection_log.load(); }
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

 private:
  Lb4Server() = default;
  // A copy of the runtime in force with pool `pool`'s balancer rebuilt (same Backend objects,
  // same listeners), published to the workers. Under control_mu_.
  absl::Status RepublishPool(const std::string& pool);

  std::mutex control_mu_;  // Reload vs Control
  mutable std::mutex runtime_mu_;
  std::shared_ptr<const Runtime> runtime_;  // guarded by runtime_mu_
  ReusableBackends removed_;  // removed by a reload, maybe still draining; main thread only
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  SharedCounters shared_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<HealthChecker> health_;  // active checks and passive ejection of every pool
  // [lb4.access_log] sinks: the one in force (shared_.connection_log) is the last; earlier ones
  // (a reload changed the path) stay until exit, since a worker may still be writing to one.
  std::vector<std::unique_ptr<log::LineSink>> connection_logs_;
  std::string connection_log_path_ = "off";
  absl::Status OpenConnectionLog(const log::AccessLogConfig& config);
};

// Number of worker threads for `configured` (0 = one per CPU this process may run on).
int ResolveWorkerCount(int configured);

}  // namespace edge::l4
