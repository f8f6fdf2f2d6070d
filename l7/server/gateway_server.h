#pragma once
// GatewayServer: one gw7 process's data path: an io_uring EventLoop on one thread, the listener,
// the client connections and the current config generation (GatewayRuntime).
//
// Threads: Create() and Run() are called on the loop thread. The control thread (signals, admin)
// talks to it only through the thread-safe methods, which post work to the loop.
//
// Lifecycle: Run() serves until the drain that BeginDrain() starts completes (every connection
// closed) or drain_timeout passes (the rest are closed), then returns. The drain runs in the
// order a load balancer in front needs: draining() turns true at once (admin /healthz answers
// 503, every response from then on carries `Connection: close`), the listener keeps accepting
// for [gw7] drain_delay (so that connections the balancer sends before its health check sees the
// 503 are still served), then it closes, idle connections close, and drain_timeout starts.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "common/admin/runtime_control.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "common/uring/string_pool.h"
#include "common/uring/timer_wheel.h"
#include "l7/config/gateway_config.h"
#include "l7/observe/request_observer.h"
#include "l7/server/gateway_runtime.h"
#include "l7/server/gateway_stats.h"
#include "l7/server/request_id.h"
#include "l7/server/upstream_discovery.h"
#include "l7/stream/request_stream.h"
#include "l7/stream/stream_services.h"
#include "l7/upstream/health_probe.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class ClientConnection;
class GatewayListener;

class GatewayServer final : public StreamServices, public UpstreamConnector {
 public:
  // Binds the listener (config.listen) and builds the first generation.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Create(GatewayConfig config);
  ~GatewayServer() override;

  absl::Status Run();
  net::SocketAddress listen_address() const { return listen_address_; }

  // ---- thread-safe (post to the loop) ----
  // `with_delay` false skips drain_delay (gw7 failed to start: nobody was sending to it yet).
  void BeginDrain(bool with_delay = true);
  // Applies a loaded config; a generation that fails to build is logged and changes nothing.
  // Servers given by name take their answers from `resolved`, else from the names in force
  // (same [dns]); a name in neither fails the reload (resolve new names first: DnsAnswers()).
  void Reload(GatewayConfig config, dns::AnswerMap resolved = {});
  // Runs fn on the loop thread and waits for it (at most `timeout_ms`); false on timeout.
  bool RunOnLoop(std::function<void()> fn, int timeout_ms);
  bool draining() const override { return draining_.load(); }
  RequestObserver* request_observer() override { return observer_.get(); }
  uring::StringPool* string_pool() override { return &string_pool_; }
  // The admin token of the config in force (nullopt: none), for the admin thread's checks.
  std::optional<std::string> admin_token() const;

  // ---- loop thread ----
  // Keeps the servers given by name in `named` (the config as written; the server runs it
  // expanded with `answers`) in step with DNS. Before Run().
  absl::Status StartDiscovery(const GatewayConfig& named, const dns::AnswerMap& answers);
  // The answers in force of the names of the config in force, and the [dns] they came from.
  std::pair<dns::AnswerMap, dns::DnsConfig> DnsAnswers() const;
  uring::EventLoop& loop() { return *loop_; }
  // Receive buffers of the client connections' small receives (a request head, or nothing yet:
  // client_connection.h); null where the kernel has no provided buffer rings.
  uring::ProvidedBufferRing* client_buffers() { return client_buffers_.get(); }
  // The upstream connections' receive buffers (l7/upstream/upstream_connection.h); null likewise.
  uring::ProvidedBufferRing* upstream_buffers() { return upstream_buffers_.get(); }
  // The loop's request streams (l7/stream/request_stream.h), reused from connection to
  // connection: a connection holds one only from a request's head to its end, so an idle
  // keep-alive connection holds none, and a busy one allocates none in steady state.
  std::unique_ptr<RequestStream> TakeStream(StreamOwner* owner);
  // `stream` is neither active nor held. Taken (null afterwards) unless the pool is full; it is
  // never deleted here, since its own code may be on the stack (a response's end).
  void GiveStream(std::unique_ptr<RequestStream>& stream);
  // StreamServices: what requests use of the loop and the process.
  int64_t now_ns() const override { return loop_->now_ns(); }
  uring::TimerWheel& timers() override { return loop_->timers(); }
  const std::shared_ptr<GatewayRuntime>& runtime() const override { return runtime_; }
  GatewayStats& stats() override { return stats_; }
  RequestIdGenerator& request_ids() override { return request_ids_; }
  UpstreamConnector& upstream_connector() override { return *this; }
  // UpstreamConnector: TCP connections on the loop.
  absl::StatusOr<UpstreamLink*> Connect(const net::SocketAddress& server,
                                        UpstreamLink::Owner* owner) override;
  // Where a finished request is reported (access log, usage): observer().OnRequestEnd(record).
  RequestObserver& observer() { return *observer_; }
  void OnAccepted(int fd);
  void OnConnectionClosed(ClientConnection* c);     // closing: its operations still complete
  void OnConnectionDestroyed(ClientConnection* c);  // gone
  // Client connection objects not yet destroyed: open ones, and closed ones whose last
  // operations are still in the kernel.
  size_t connection_objects() const { return connections_.size() + closing_.size(); }
  int64_t drain_deadline_ns() const { return drain_deadline_ns_; }
  // [gw7] max_connections, or half of RLIMIT_NOFILE when it is 0.
  size_t max_connections() const;
  std::string RenderMetrics();  // Prometheus text
  std::string RenderStatus();   // JSON
  std::string RenderUsage();    // JSON: per-consumer and per-route usage windows (GET /usage)
  // Runtime control (POST /upstreams/{upstream}/{server}/drain|enable|weight, see
  // common/admin/runtime_control.h) on the current generation: drain and enable flip the
  // server's admin_drained (the proxy filter's Available() skips it from the next attempt on),
  // weight gives the upstream's balancer new weights. Logged with `peer`. 200 with the server's
  // JSON state, or 404 for an unknown upstream or server.
  admin::AdminResponse Control(const admin::ControlCommand& command,
                               const net::SocketAddress& peer);

 private:
  GatewayServer();
  static void DrainThunk(void* self) { static_cast<GatewayServer*>(self)->OnDrainTimer(); }
  void DoBeginDrain(bool with_delay);
  void OnDrainTimer();
  void StopAccepting();  // the end of drain_delay: the listener closes, drain_timeout begins
  void OnDrainTimeout();
  void MaybeFinishDrain();
  void StartHealthProbes();  // for the current generation, replacing the previous ones
  // Builds a generation from `config` (names expanded) and makes it current. With
  // keep_idle_connections (a DNS change), servers that stay hand their idle keep-alive
  // connections to the new generation. False (logged, counted) when it does not build.
  bool ApplyGeneration(GatewayConfig config, bool keep_idle_connections);
  void Refuse(ClientConnection* c);  // over max_connections
  void SetAdminToken(const std::optional<std::string>& token);

  std::unique_ptr<uring::EventLoop> loop_;
  // Receive buffers of the upstream connections (multishot recv; upstream_connection.h). After
  // loop_, so it goes first; null where the kernel has no provided buffer rings.
  std::unique_ptr<uring::ProvidedBufferRing> upstream_buffers_;
  std::unique_ptr<uring::ProvidedBufferRing> client_buffers_;  // the same, for client_buffers()
  std::unique_ptr<GatewayListener> listener_;
  net::SocketAddress listen_address_;
  std::shared_ptr<GatewayRuntime> runtime_;
  std::vector<std::unique_ptr<HealthProbe>> probes_;  // update runtime_'s servers
  std::unique_ptr<UpstreamDiscovery> discovery_;      // servers given by name
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
  mutable std::mutex admin_token_mu_;
  std::optional<std::string> admin_token_;  // guarded by admin_token_mu_
  bool drain_started_ = false;              // BeginDrain's work ran on the loop
  bool in_drain_delay_ = false;             // still accepting, until drain_timer_ fires
  bool drain_forced_ = false;
  int64_t drain_deadline_ns_ = 0;
  uring::Timer drain_timer_;  // the end of drain_delay, then of drain_timeout
  // TakeStream/GiveStream's free streams, at most kMaxFreeStreams; last, so they go first.
  static constexpr size_t kMaxFreeStreams = 4096;
  std::vector<std::unique_ptr<RequestStream>> free_streams_;
  uring::StringPool string_pool_;
};

}  // namespace edge::l7
