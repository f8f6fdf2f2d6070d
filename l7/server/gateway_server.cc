#include "l7/server/gateway_server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <future>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/net/socket.h"
#include "common/uring/stream_socket.h"
#include "l7/server/client_connection.h"
#include "l7/server/listener.h"
#include "l7/upstream/upstream_connection.h"

namespace edge::l7 {
namespace {

// The upstream connections' receive buffers: 16 KiB each (a TLS record, a typical response),
// up to 4096 (64 MiB reserved, touched only as the load needs them).
constexpr int kUpstreamBufferGroup = 7;
constexpr unsigned kUpstreamBuffers = 4096;
constexpr uint32_t kUpstreamBufferSize = 16 * 1024;
constexpr unsigned kUpstreamBuffersAtFirst = 64;  // 1 MiB resident at first
// The client connections' receives of a request head (or of nothing, while idle): 4 KiB each
// (a typical head; a larger one takes further receives), up to 4096 (16 MiB reserved). A buffer
// is taken only while bytes arrive and given back once the codec has copied them, so however
// many connections wait, few buffers are in use.
constexpr int kClientBufferGroup = 8;
constexpr unsigned kClientBuffers = 4096;
constexpr uint32_t kClientBufferSize = 4 * 1024;
constexpr unsigned kClientBuffersAtFirst = 64;  // 256 KiB resident at most, at first

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Create(GatewayConfig config) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  uring::RingOptions ring_options;
  ring_options.min_wait_usec = config.batch_wait_us;
  // gw7's default wait is long (it pays off under load, where a wake-up costs more per request
  // than in lb4's relay): held back only while the loop is busy, so light traffic is not delayed.
  ring_options.adaptive_batch = true;
  auto loop = uring::EventLoop::Create(ring_options);
  if (!loop.ok()) return loop.status();
  server->loop_ = std::move(*loop);
  auto buffers = uring::ProvidedBufferRing::Create(&server->loop_->ring(), kUpstreamBufferGroup,
                                                   kUpstreamBuffers, kUpstreamBufferSize,
                                                   kUpstreamBuffersAtFirst);
  if (buffers.ok()) {
    server->upstream_buffers_ = std::move(*buffers);
  } else {
    LOG_WARN("upstream receives without a provided buffer ring (%s): one buffer per connection",
             buffers.status().message());
  }
  auto client_buffers =
      uring::ProvidedBufferRing::Create(&server->loop_->ring(), kClientBufferGroup, kClientBuffers,
                                        kClientBufferSize, kClientBuffersAtFirst);
  if (client_buffers.ok()) {
    server->client_buffers_ = std::move(*client_buffers);
  } else {
    LOG_WARN("client receives without a provided buffer ring (%s): one buffer per connection",
             client_buffers.status().message());
  }
  net::ListenOptions listen_options;
  listen_options.reuse_port = false;  // one gw7 per address: a second one must fail loudly
  auto fd = net::ListenTcp(config.listen, listen_options);
  if (!fd.ok()) return fd.status();
  server->listen_address_ = net::LocalAddress(*fd);
  server->listener_ = std::make_unique<GatewayListener>(server.get(), *fd);
  auto observer = RequestObserver::Create(config);
  if (!observer.ok()) return observer.status();
  server->observer_ = std::move(*observer);
  FilterEnvironment env{server->loop_.get()};
  auto runtime = BuildGatewayRuntime(std::move(config), env, nullptr);
  if (!runtime.ok()) return runtime.status();
  server->runtime_ = std::move(*runtime);
  server->SetAdminToken(server->runtime_->config.admin_token);
  server->StartHealthProbes();
  rlimit nofile{};
  const rlim_t files = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
  server->derived_max_connections_ =
      std::max<size_t>(1, static_cast<size_t>(std::min<rlim_t>(files, 1u << 30) / 2));
  LOG_INFO("max_connections %d", static_cast<int>(server->max_connections()));
  return server;
}

GatewayServer::GatewayServer() : drain_timer_(&DrainThunk, this) {}

GatewayServer::~GatewayServer() {
  // The loop has stopped for good: no completion will arrive, so connections still open (a
  // forced shutdown) and idle upstream connections are freed here, before the loop goes.
  uring::StreamSocket::LoopStopped();
  std::vector<ClientConnection*> left(connections_.begin(), connections_.end());
  left.insert(left.end(), closing_.begin(), closing_.end());
  connections_.clear();
  closing_.clear();
  for (ClientConnection* c : left) c->DestroyAfterLoop();
  for (auto& probe : probes_) probe->DetachFromStoppedLoop();
  if (discovery_ != nullptr) discovery_->LoopStopped();
  discovery_.reset();
  probes_.clear();
  HealthProbe::FreeOrphansAfterLoop();
  runtime_.reset();
  listener_.reset();
}

absl::Status GatewayServer::Run() {
  listener_->Arm();
  return loop_->Run();
}

void GatewayServer::OnAccepted(int fd) {  // (TCP_NODELAY comes from the listener: ListenTcp)
  auto* c = new ClientConnection(this, fd, net::PeerAddress(fd));
  const bool over = connections_.size() - refusing_ >= max_connections();
  connections_.insert(c);
  ++stats_.connections_total;
  ++stats_.connections_active;
  if (over) {
    Refuse(c);
  } else {
    c->Start();
  }
}

size_t GatewayServer::max_connections() const {
  const uint32_t configured = runtime_->config.max_connections;
  return configured != 0 ? configured : derived_max_connections_;
}

void GatewayServer::Refuse(ClientConnection* c) {
  // Accepted and answered rather than left in the backlog: the client learns at once that it
  // should come back (Retry-After), and the descriptor is returned within a linger.
  ++stats_.connections_refused;
  ++refused_since_log_;
  const int64_t now = loop_->now_ns();
  if (now - refusal_logged_ns_ >= 1'000'000'000) {
    LOG_WARN("max_connections (%d) reached: refused %d connection(s) since the last report",
             static_cast<int>(max_connections()), static_cast<int>(refused_since_log_));
    refusal_logged_ns_ = now;
    refused_since_log_ = 0;
  }
  ++refusing_;
  c->Refuse();
}

absl::StatusOr<UpstreamLink*> GatewayServer::Connect(const net::SocketAddress& server,
                                                     UpstreamLink::Owner* owner) {
  auto c = UpstreamConnection::Connect(loop_.get(), server, owner, upstream_buffers());
  if (!c.ok()) return c.status();
  return static_cast<UpstreamLink*>(*c);
}

void GatewayServer::OnConnectionDestroyed(ClientConnection* c) { closing_.erase(c); }

void GatewayServer::OnConnectionClosed(ClientConnection* c) {
  closing_.insert(c);
  if (connections_.erase(c) > 0) {
    --stats_.connections_active;
    if (c->refused()) --refusing_;
  }
  if (draining_.load()) MaybeFinishDrain();
}

void GatewayServer::SetAdminToken(const std::optional<std::string>& token) {
  std::lock_guard<std::mutex> lock(admin_token_mu_);
  admin_token_ = token;
}

std::optional<std::string> GatewayServer::admin_token() const {
  std::lock_guard<std::mutex> lock(admin_token_mu_);
  return admin_token_;
}

bool GatewayServer::RunOnLoop(std::function<void()> fn, int timeout_ms) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  loop_->Post([fn = std::move(fn), done] {
    fn();
    done->set_value();
  });
  return f.wait_for(std::chrono::milliseconds(timeout_ms)) == std::future_status::ready;
}

void GatewayServer::BeginDrain(bool with_delay) {
  draining_.store(true);
  loop_->Post([this, with_delay] { DoBeginDrain(with_delay); });
}

void GatewayServer::DoBeginDrain(bool with_delay) {
  if (drain_started_) return;
  drain_started_ = true;
  const absl::Duration delay = runtime_->config.drain_delay;
  if (!with_delay || delay <= absl::ZeroDuration()) {
    StopAccepting();
    return;
  }
  // Idle keep-alive connections stay open here: closing one now could race a request its client
  // is sending. They learn of the drain from `Connection: close` on their next response (the
  // connection reads draining()), or close at the end of the delay.
  in_drain_delay_ = true;
  LOG_INFO("draining: /healthz answers 503; accepting for drain_delay %s more (%d connections)",
           absl::FormatDuration(delay), static_cast<int>(connections_.size()));
  loop_->timers().Schedule(&drain_timer_, loop_->now_ns() + absl::ToInt64Nanoseconds(delay));
}

void GatewayServer::OnDrainTimer() {
  if (in_drain_delay_) {
    in_drain_delay_ = false;
    StopAccepting();
    return;
  }
  OnDrainTimeout();
}

void GatewayServer::StopAccepting() {
  const absl::Duration timeout = runtime_->config.drain_timeout;
  drain_deadline_ns_ = loop_->now_ns() + absl::ToInt64Nanoseconds(timeout);
  LOG_INFO("draining %d connections (drain_timeout %s)", static_cast<int>(connections_.size()),
           absl::FormatDuration(timeout));
  listener_->Close();
  std::vector<ClientConnection*> all(connections_.begin(), connections_.end());
  for (ClientConnection* c : all) c->OnDrain();
  loop_->timers().Schedule(&drain_timer_, drain_deadline_ns_);
  MaybeFinishDrain();
}

void GatewayServer::OnDrainTimeout() {
  if (drain_forced_) {
    loop_->Stop();
    return;
  }
  drain_forced_ = true;
  LOG_WARN("drain_timeout reached: closing %d connections", static_cast<int>(connections_.size()));
  std::vector<ClientConnection*> all(connections_.begin(), connections_.end());
  for (ClientConnection* c : all) c->Abort();
  // Give the aborted connections' operations a moment to complete, then stop regardless.
  loop_->timers().Schedule(&drain_timer_, loop_->now_ns() + 200'000'000);
  MaybeFinishDrain();
}

void GatewayServer::MaybeFinishDrain() {
  if (drain_deadline_ns_ == 0 || !connections_.empty()) return;
  loop_->Stop();
}

void GatewayServer::StartHealthProbes() {
  probes_.clear();
  for (const auto& up : runtime_->upstreams) {
    const UpstreamHealthConfig& hc = up->config->health;
    if (!hc.enabled) continue;
    const int64_t interval = absl::ToInt64Nanoseconds(hc.interval);
    const size_t n = up->servers.size();
    for (size_t i = 0; i < n; ++i) {
      UpstreamServer* s = up->servers[i].get();
      UpstreamHealth* group = up->health.get();
      std::string name = up->config->name;
      auto probe = std::make_unique<HealthProbe>(
          loop_.get(), s->address, hc, [this, s, group, name](const health::ProbeOutcome& outcome) {
            const health::ProbeVerdict& v = outcome.verdict;
            ++(v.ok ? s->checks_ok : s->checks_failed);
            // /status shows an http answer as its bare code ("503"), as it always has.
            s->last_check = v.status != 0 ? absl::StrFormat("%d", v.status) : v.detail;
            if (!s->check.Record(v.ok)) return;
            group->Invalidate();
            if (s->check.up()) {
              LOG_INFO("upstream \"%s\" server %s is up (health check: %s)", name, s->key,
                       v.detail);
            } else {
              stats_.CountError("health_down");
              LOG_WARN("upstream \"%s\" server %s is down (health check: %s)", name, s->key,
                       v.detail);
            }
          });
      // Spread the servers' checks over one interval instead of probing all at once.
      probe->Start(static_cast<int64_t>(i) * interval / static_cast<int64_t>(n));
      probes_.push_back(std::move(probe));
    }
  }
}

void GatewayServer::Reload(GatewayConfig config, dns::AnswerMap resolved) {
  loop_->Post([this, config = std::move(config), resolved = std::move(resolved)]() mutable {
    dns::AnswerMap answers = std::move(resolved);
    if (discovery_ != nullptr && config.dns == discovery_->dns_config()) {
      answers.insert(discovery_->answers().begin(), discovery_->answers().end());
    }
    auto expanded = ExpandNamedServers(config, answers);
    if (!expanded.ok()) {
      ++stats_.reloads_failed;
      LOG_ERROR("reload failed, the running config stays in force: %s",
                expanded.status().message());
      return;
    }
    if (!ApplyGeneration(*std::move(expanded), false)) return;
    if (discovery_ == nullptr) {
      discovery_ = std::make_unique<UpstreamDiscovery>(
          loop_.get(), [this](GatewayConfig c) { ApplyGeneration(std::move(c), true); });
    }
    if (absl::Status watch = discovery_->Watch(config, answers); !watch.ok()) {
      LOG_ERROR("dns: %s; servers given by name are no longer refreshed", watch.message());
    }
  });
}

std::unique_ptr<RequestStream> GatewayServer::TakeStream(StreamOwner* owner) {
  if (free_streams_.empty()) return std::make_unique<RequestStream>(this, owner);
  std::unique_ptr<RequestStream> stream = std::move(free_streams_.back());
  free_streams_.pop_back();
  stream->set_owner(owner);
  return stream;
}

void GatewayServer::GiveStream(std::unique_ptr<RequestStream>& stream) {
  if (free_streams_.size() < kMaxFreeStreams) free_streams_.push_back(std::move(stream));
}

bool GatewayServer::ApplyGeneration(GatewayConfig config, bool keep_idle_connections) {
  FilterEnvironment env{loop_.get()};
  auto runtime = BuildGatewayRuntime(std::move(config), env, runtime_.get());
  if (!runtime.ok()) {
    if (!keep_idle_connections) ++stats_.reloads_failed;  // DNS changes count in gw7_dns_*
    LOG_ERROR("%s failed, the running config stays in force: %s",
              keep_idle_connections ? "applying a dns change" : "reload",
              runtime.status().message());
    return false;
  }
  if (runtime_->config.batch_wait_us != (*runtime)->config.batch_wait_us) {
    LOG_WARN("reload: batch_wait_us takes effect only at restart");
  }
  if (keep_idle_connections) {
    for (const auto& up : (*runtime)->upstreams) {
      for (const auto& old_up : runtime_->upstreams) {
        if (old_up->config->name != up->config->name) continue;
        for (const auto& server : up->servers) {
          for (const auto& old : old_up->servers) {
            if (old->key != server->key) continue;
            while (IdleConnection* c = old->pool.Take()) server->pool.Put(c);
          }
        }
      }
    }
  }
  probes_.clear();
  runtime_ = std::move(*runtime);
  // Free streams keep the generation of their last request (RequestStream::Finish); they go
  // now rather than keep an old generation's pools open until reused.
  free_streams_.clear();
  SetAdminToken(runtime_->config.admin_token);
  observer_->Reconfigure(runtime_->config);
  StartHealthProbes();
  if (!keep_idle_connections) ++stats_.reloads_ok;
  LOG_INFO("%s: %s (generation %d: %d routes, %d upstreams)",
           keep_idle_connections ? "dns change applied" : "reload ok", runtime_->config.path,
           static_cast<int>(runtime_->generation), static_cast<int>(runtime_->routes.size()),
           static_cast<int>(runtime_->upstreams.size()));
  return true;
}

absl::Status GatewayServer::StartDiscovery(const GatewayConfig& named,
                                           const dns::AnswerMap& answers) {
  discovery_ = std::make_unique<UpstreamDiscovery>(
      loop_.get(), [this](GatewayConfig c) { ApplyGeneration(std::move(c), true); });
  return discovery_->Watch(named, answers);
}

std::pair<dns::AnswerMap, dns::DnsConfig> GatewayServer::DnsAnswers() const {
  if (discovery_ == nullptr) return {};
  return {discovery_->answers(), discovery_->dns_config()};
}

}  // namespace edge::l7
