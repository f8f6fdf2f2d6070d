#pragma once
// GatewayServer: one gw7 process's data path: an io_uring EventLoop on one thread, the listener,
// the client connections and the current config generation (GatewayRuntime).
//
// Threads: Create() and Run() are called on the loop thread. The control thread (signals, admin)
// talks to it only through the thread-safe methods, which post work to the loop.
//
// Lifecycle: Run() serves until the drain that BeginDrain() starts completes (every connection
// closed) or drain_timeout passes (the rest are closed), then returns.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "absl/status/statusor.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"
#include "l7/config/gateway_config.h"
#include "l7/observe/request_observer.h"
#include "l7/server/gateway_runtime.h"
#include "l7/server/gateway_stats.h"
#include "l7/server/request_id.h"

namespace edge::l7 {

class ClientConnection;
class GatewayListener;

class GatewayServer {
 public:
  // Binds the listener (config.listen) and builds the first generation.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Create(GatewayConfig config);
  ~GatewayServer();

  absl::Status Run();
  net::SocketAddress listen_address() const { return listen_address_; }

  // ---- thread-safe (post to the loop) ----
  void BeginDrain();
  // Applies a loaded config; a generation that fails to build is logged and changes nothing.
  void Reload(GatewayConfig config);
  // Runs fn on the loop thread and waits for it (at most `timeout_ms`); false on timeout.
  bool RunOnLoop(std::function<void()> fn, int timeout_ms);
  bool draining() const { return draining_.load(); }

  // ---- loop thread ----
  uring::EventLoop& loop() { return *loop_; }
  const std::shared_ptr<GatewayRuntime>& runtime() const { return runtime_; }
  GatewayStats& stats() { return stats_; }
  RequestIdGenerator& request_ids() { return request_ids_; }
  // Where a finished request is reported (access log, usage): observer().OnRequestEnd(record).
  RequestObserver& observer() { return *observer_; }
  void OnAccepted(int fd);
  void OnConnectionClosed(ClientConnection* c);     // closing: its operations still complete
  void OnConnectionDestroyed(ClientConnection* c);  // gone
  int64_t drain_deadline_ns() const { return drain_deadline_ns_; }
  // [gw7] max_connections, or half of RLIMIT_NOFILE when it is 0.
  size_t max_connections() const;
  std::string RenderMetrics();  // Prometheus text
  std::string RenderStatus();   // JSON
  std::string RenderUsage();    // JSON: per-consumer and per-route usage windows (GET /usage)

 private:
  GatewayServer();
  static void DrainThunk(void* self) { static_cast<GatewayServer*>(self)->OnDrainTimeout(); }
  void DoBeginDrain();
  void OnDrainTimeout();
  void MaybeFinishDrain();
  void StartHealthProbes();          // for the current generation, replacing the previous ones
  void Refuse(ClientConnection* c);  // over max_connections

  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<GatewayListener> listener_;
  net::SocketAddress listen_address_;
  std::shared_ptr<GatewayRuntime> runtime_;
  std::vector<std::unique_ptr<HealthProbe>> probes_;  // update runtime_'s servers
  std::unordered_set<ClientConnection*> connections_;
  std::unordered_set<ClientConnection*> closing_;  // closed, waiting for their last completions
  size_t refusing_ = 0;  // connections_ that are only being answered 503 (not held to the limit)
  size_t derived_max_connections_ = 0;  // RLIMIT_NOFILE / 2, read at start
  int64_t refusal_logged_ns_ = 0;       // refusals are logged at most once a second
  uint64_t refused_since_log_ = 0;
  GatewayStats stats_;
  RequestIdGenerator request_ids_;
  std::unique_ptr<RequestObserver> observer_;
  std::atomic<bool> draining_{false};
  bool drain_forced_ = false;
  int64_t drain_deadline_ns_ = 0;
  uring::Timer drain_timer_;
};

}  // namespace edge::l7
