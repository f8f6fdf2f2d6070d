#include "l4/admin.h"

#include <array>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/admin/dashboard.h"
#include "common/admin/runtime_control.h"
#include "common/dns/dns_stats.h"
#include "common/log.h"
#include "common/metrics/prometheus.h"
#include "common/tls/client_hello.h"
#include "common/uring/timer_wheel.h"
#include "l4/tls/tls_failure.h"

namespace edge::l4 {

namespace {

const char* BalanceName(BalanceKind kind) {
  switch (kind) {
    case BalanceKind::kMaglev:
      return "maglev";
    case BalanceKind::kRoundRobin:
      return "round_robin";
    case BalanceKind::kLeastConn:
      return "least_conn";
    case BalanceKind::kRandomTwo:
      return "random_two";
  }
  return "?";
}

const char* ModeName(ListenerMode mode) {
  switch (mode) {
    case ListenerMode::kTcp:
      return "tcp";
    case ListenerMode::kTls:
      return "tls";
    case ListenerMode::kTlsPassthrough:
      return "tls_passthrough";
  }
  return "?";
}

// Sums one counter over every worker.
template <typename Field>
double Sum(const Lb4Server& server, Field field) {
  uint64_t total = 0;
  for (const auto& worker : server.workers()) total += (worker->stats_view().*field).Get();
  return static_cast<double>(total);
}

// The health fields of a backend object in /status: "check" (up|down|none), "ejected",
// "ejection_ms" (length of the ejection in force), "ejected_ms_left", "ejections",
// "consecutive_failures", "checks" and "last_check" (null before the first active check).
void AppendHealth(std::string* json, const Backend& b, bool checked) {
  const bool ejected = b.ejected.load();
  const int64_t left_ns = ejected ? b.ejected_until_ns.load() - uring::MonotonicNowNs() : 0;
  absl::StrAppendFormat(
      json,
      ",\"check\":\"%s\",\"ejected\":%s,\"ejection_ms\":%d,\"ejected_ms_left\":%d,"
      "\"ejections\":%d,"
      "\"consecutive_failures\":%d,\"checks\":{\"ok\":%d,\"fail\":%d},\"last_check\":",
      !checked            ? "none"
      : b.check_up.load() ? "up"
                          : "down",
      ejected ? "true" : "false", ejected ? b.ejection_ns.load() / 1'000'000 : 0,
      left_ns > 0 ? left_ns / 1'000'000 : 0, static_cast<uint64_t>(b.ejections.load()),
      static_cast<uint32_t>(b.consecutive_failures.load()),
      static_cast<uint64_t>(b.checks_ok.load()), static_cast<uint64_t>(b.checks_failed.load()));
  const CheckResult last = b.last_check();
  if (last.at == absl::InfinitePast()) {
    *json += "null";
    return;
  }
  absl::StrAppendFormat(
      json, "{\"result\":\"%s\",\"reason\":\"%s\",\"time\":\"%s\",\"duration_ms\":%.3f}",
      last.ok ? "ok" : "fail", metrics::JsonEscape(last.detail),
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", last.at, absl::UTCTimeZone()),
      absl::ToDoubleMilliseconds(last.took));
}

}  // namespace

std::string RenderMetrics(const Lb4Server& server, const AnnounceState* announce) {
  metrics::PrometheusText out;
  out.Family("lb4_connections_active", "gauge", "Relayed connections open now.");
  out.Sample("lb4_connections_active", {}, static_cast<double>(server.active_connections()));
  out.Family("lb4_splice_pipes", "gauge",
             "Pipes open now for spliced bulk flows (two file descriptors each; at most "
             "[lb4] max_pipes).");
  out.Sample("lb4_splice_pipes", {}, static_cast<double>(server.splice_pipes()));
  out.Family("lb4_connections_accepted_total", "counter", "Client connections accepted.");
  out.Sample("lb4_connections_accepted_total", {}, Sum(server, &WorkerStats::accepted));
  out.Family("lb4_connections_closed_total", "counter", "Relayed connections finished.");
  out.Sample("lb4_connections_closed_total", {}, Sum(server, &WorkerStats::closed));
  out.Family("lb4_connections_refused_total", "counter", "Client connections refused, by reason.");
  out.Sample("lb4_connections_refused_total", {{"reason", "max_connections"}},
             Sum(server, &WorkerStats::refused_max));
  out.Sample("lb4_connections_refused_total", {{"reason", "no_backend"}},
             Sum(server, &WorkerStats::refused_no_backend));
  // Per listener, by its protection (l4/protection/source_guard.h); 0 without protection.
  std::shared_ptr<const Runtime> listeners_snapshot = server.runtime();
  for (const auto& listener : listeners_snapshot->listeners) {
    for (size_t i = 0; i < kRefusalKinds; ++i) {
      out.Sample(
          "lb4_connections_refused_total",
          {{"listener", listener->config.name}, {"reason", RefusalName(static_cast<Refusal>(i))}},
          static_cast<double>(listener->counters->refused[i].load()));
    }
  }
  out.Family("lb4_source_untracked_total", "counter",
             "Connections admitted without per-source limits because every entry of a worker's "
             "per-source table had live connections (raise source_table_size).");
  for (const auto& listener : listeners_snapshot->listeners) {
    if (listener->guard == nullptr || !listener->guard->per_source()) continue;
    out.Sample("lb4_source_untracked_total", {{"listener", listener->config.name}},
               static_cast<double>(listener->counters->untracked.load()));
  }
  out.Family("lb4_bytes_total", "counter", "Bytes received, by the side they came from.");
  out.Sample("lb4_bytes_total", {{"from", "client"}},
             Sum(server, &WorkerStats::bytes_from_clients));
  out.Sample("lb4_bytes_total", {{"from", "backend"}},
             Sum(server, &WorkerStats::bytes_from_backends));
  out.Family("lb4_errors_total", "counter", "Connection problems, by kind.");
  out.Sample("lb4_errors_total", {{"kind", "connect_failure"}},
             Sum(server, &WorkerStats::connect_failures));
  out.Sample("lb4_errors_total", {{"kind", "connect_timeout"}},
             Sum(server, &WorkerStats::connect_timeouts));
  out.Sample("lb4_errors_total", {{"kind", "idle_timeout"}},
             Sum(server, &WorkerStats::idle_timeouts));
  out.Sample("lb4_errors_total", {{"kind", "socket_error"}}, Sum(server, &WorkerStats::errors));
  out.Sample("lb4_errors_total", {{"kind", "accept_error"}},
             Sum(server, &WorkerStats::accept_errors));
  out.Family("lb4_buffer_fallbacks_total", "counter",
             "Receives done into a connection's own buffer because the buffer ring was empty.");
  out.Sample("lb4_buffer_fallbacks_total", {}, Sum(server, &WorkerStats::buffer_fallbacks));
  out.Family("lb4_splice_flows_total", "counter",
             "Relay directions that turned bulk: switched to splice through a pipe (outcome "
             "spliced), or left on buffers because no pipe was available (outcome refused).");
  out.Sample("lb4_splice_flows_total", {{"outcome", "spliced"}},
             Sum(server, &WorkerStats::splice_flows));
  out.Sample("lb4_splice_flows_total", {{"outcome", "refused"}},
             Sum(server, &WorkerStats::splice_refused));
  out.Family("lb4_tls_passthrough_hellos_total", "counter",
             "tls_passthrough ClientHellos, by outcome: routed by SNI, default pool, or refused "
             "(reason).");
  out.Sample("lb4_tls_passthrough_hellos_total", {{"outcome", "routed"}},
             Sum(server, &WorkerStats::hello_routed));
  out.Sample("lb4_tls_passthrough_hellos_total", {{"outcome", "default_pool"}},
             Sum(server, &WorkerStats::hello_default_pool));
  for (tls::HelloError e : {tls::HelloError::kNotHandshake, tls::HelloError::kSslV2,
                            tls::HelloError::kUnsupportedVersion, tls::HelloError::kMalformed,
                            tls::HelloError::kOversized}) {
    uint64_t n = 0;
    for (const auto& w : server.workers()) {
      n += w->stats_view().hello_refused[static_cast<size_t>(e)].Get();
    }
    out.Sample("lb4_tls_passthrough_hellos_total",
               {{"outcome", "refused"}, {"reason", tls::HelloErrorName(e)}},
               static_cast<double>(n));
  }
  out.Sample("lb4_tls_passthrough_hellos_total", {{"outcome", "refused"}, {"reason", "timeout"}},
             Sum(server, &WorkerStats::hello_timeouts));
  out.Sample("lb4_tls_passthrough_hellos_total",
             {{"outcome", "refused"}, {"reason", "client_closed"}},
             Sum(server, &WorkerStats::hello_eof));
  out.Family("lb4_tls_handshakes_total", "counter",
             "mode = \"tls\": completed handshakes (resumed: from a session ticket).");
  out.Sample("lb4_tls_handshakes_total", {{"resumed", "false"}},
             Sum(server, &WorkerStats::tls_handshakes) - Sum(server, &WorkerStats::tls_resumed));
  out.Sample("lb4_tls_handshakes_total", {{"resumed", "true"}},
             Sum(server, &WorkerStats::tls_resumed));
  out.Family("lb4_tls_handshake_failures_total", "counter",
             "mode = \"tls\": handshakes that failed, by reason.");
  for (size_t i = 0; i < kTlsFailureKinds; ++i) {
    uint64_t n = 0;
    for (const auto& w : server.workers()) n += w->stats_view().tls_handshake_failures[i].Get();
    out.Sample("lb4_tls_handshake_failures_total",
               {{"reason", TlsFailureName(static_cast<TlsFailure>(i))}}, static_cast<double>(n));
  }

  std::shared_ptr<const Runtime> snapshot = server.runtime();
  const Runtime& runtime = *snapshot;
  out.Family("lb4_backend_up", "gauge", "1 when the backend may receive new connections.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_up", {{"pool", pool->config.name}, {"backend", b->key}},
                 b->healthy.load() ? 1 : 0);
    }
  }
  out.Family("lb4_backend_admin_drained", "gauge",
             "1 while runtime control drains the backend (POST /backends/{pool}/{server}/drain): "
             "no new connections, open ones go on.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_admin_drained", {{"pool", pool->config.name}, {"backend", b->key}},
                 b->admin_drained.load() ? 1 : 0);
    }
  }
  out.Family("lb4_backend_weight", "gauge",
             "The backend's weight in force: the config's, or one set by runtime control.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_weight", {{"pool", pool->config.name}, {"backend", b->key}},
                 static_cast<double>(b->weight.load()));
    }
  }
  out.Family("lb4_backend_connections_active", "gauge", "Relayed connections open to the backend.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_connections_active",
                 {{"pool", pool->config.name}, {"backend", b->key}},
                 static_cast<double>(b->active.load()));
    }
  }
  out.Family("lb4_backend_connect_failures_total", "counter", "Failed or timed-out connects.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_connect_failures_total",
                 {{"pool", pool->config.name}, {"backend", b->key}},
                 static_cast<double>(b->connect_failures.load()));
    }
  }
  out.Family("lb4_backend_check_up", "gauge",
             "1 while active health checks find the backend up (always 1 with check = none).");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_check_up", {{"pool", pool->config.name}, {"backend", b->key}},
                 b->check_up.load() ? 1 : 0);
    }
  }
  out.Family("lb4_backend_ejected", "gauge",
             "1 while passive health checks keep the backend ejected.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_ejected", {{"pool", pool->config.name}, {"backend", b->key}},
                 b->ejected.load() ? 1 : 0);
    }
  }
  out.Family("lb4_backend_check_total", "counter", "Active health checks, by result.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_check_total",
                 {{"pool", pool->config.name}, {"backend", b->key}, {"result", "ok"}},
                 static_cast<double>(b->checks_ok.load()));
      out.Sample("lb4_backend_check_total",
                 {{"pool", pool->config.name}, {"backend", b->key}, {"result", "fail"}},
                 static_cast<double>(b->checks_failed.load()));
    }
  }
  out.Family("lb4_backend_ejections_total", "counter",
             "Passive ejections: consecutive connect failures or resets reached passive_failures.");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_ejections_total", {{"pool", pool->config.name}, {"backend", b->key}},
                 static_cast<double>(b->ejections.load()));
    }
  }
  out.Family("lb4_backend_consecutive_failures", "gauge",
             "Connect failures and resets since the last successful connect (passive checks).");
  for (const auto& pool : runtime.pools) {
    for (const auto& b : pool->backends) {
      out.Sample("lb4_backend_consecutive_failures",
                 {{"pool", pool->config.name}, {"backend", b->key}},
                 static_cast<double>(b->consecutive_failures.load()));
    }
  }
  std::array<uint64_t, metrics::DurationHistogram::kBuckets> counts{};
  double sum = 0;
  for (const auto& worker : server.workers()) worker->stats_view().durations.AddTo(&counts, &sum);
  metrics::WriteHistogram(&out, "lb4_connection_duration_seconds",
                          "Lifetime of finished relayed connections.", counts, sum);
  out.Family("lb4_reloads_total", "counter", "Config reloads (SIGHUP), by outcome.");
  out.Sample("lb4_reloads_total", {{"result", "ok"}}, static_cast<double>(server.reloads_ok()));
  out.Sample("lb4_reloads_total", {{"result", "failed"}},
             static_cast<double>(server.reloads_failed()));
  if (const log::LineSink* log = server.connection_log()) {
    const log::LineSinkCounters c = log->counters();
    out.Family("lb4_access_log_lines_total", "counter",
               "Connection log lines by result: written, dropped (the writer's queue was full), "
               "write_error.");
    out.Sample("lb4_access_log_lines_total", {{"result", "written"}},
               static_cast<double>(c.written));
    out.Sample("lb4_access_log_lines_total", {{"result", "dropped"}},
               static_cast<double>(c.dropped));
    out.Sample("lb4_access_log_lines_total", {{"result", "write_error"}},
               static_cast<double>(c.write_errors));
    out.Family("lb4_access_log_reopens_total", "counter", "Connection log reopens (SIGUSR1).");
    out.Sample("lb4_access_log_reopens_total", {}, static_cast<double>(c.reopens));
  }
  out.Family("lb4_draining", "gauge", "1 after SIGTERM: no new connections are accepted.");
  out.Sample("lb4_draining", {}, server.draining() ? 1 : 0);
  out.Family("lb4_stopping", "gauge",
             "1 from SIGTERM on: /healthz answers 503 (during drain_delay lb4 still accepts).");
  out.Sample("lb4_stopping", {}, server.stopping() ? 1 : 0);
  if (announce != nullptr) {
    const AnnounceState::View a = announce->Get();
    if (a.enabled) {
      out.Family("lb4_announced", "gauge",
                 "1 while the VIP's host route is in the [lb4.announce] table (the routing "
                 "daemon announces it), 0 while withdrawn.");
      for (const std::string& vip : a.vips) {
        out.Sample("lb4_announced", {{"vip", vip}, {"table", absl::StrCat(a.table)}},
                   a.announced ? 1 : 0);
      }
    }
    out.Family("lb4_announce_changes_total", "counter",
               "Announcements and withdrawals written to the kernel routing table.");
    out.Sample("lb4_announce_changes_total", {}, static_cast<double>(a.changes));
    out.Family("lb4_announce_errors_total", "counter",
               "Route writes the kernel refused (e.g. no CAP_NET_ADMIN); retried.");
    out.Sample("lb4_announce_errors_total", {}, static_cast<double>(a.errors));
  }
  dns::ProcessDnsStats().Render(&out, "lb4");  // named backends ([dns])
  return out.text();
}

std::string RenderStatus(const Lb4Server& server, const AnnounceState* announce) {
  using metrics::JsonEscape;
  std::shared_ptr<const Runtime> snapshot = server.runtime();
  const Runtime& runtime = *snapshot;
  std::string json = absl::StrFormat(
      "{\"draining\":%s,\"stopping\":%s,\"workers\":%d,\"active_connections\":%d,",
      server.draining() ? "true" : "false", server.stopping() ? "true" : "false",
      static_cast<int>(server.workers().size()), static_cast<int64_t>(server.active_connections()));
  if (announce != nullptr && announce->Get().enabled) {
    const AnnounceState::View a = announce->Get();
    json += "\"announce\":{\"vips\":[";
    for (size_t i = 0; i < a.vips.size(); ++i) {
      absl::StrAppendFormat(&json, "%s\"%s\"", i ? "," : "", JsonEscape(a.vips[i]));
    }
    absl::StrAppendFormat(&json, "],\"table\":%d,\"announced\":%s,\"reason\":\"%s\"},", a.table,
                          a.announced ? "true" : "false", JsonEscape(a.reason));
  } else {
    json += "\"announce\":null,";
  }
  json += "\"listeners\":[";
  for (size_t i = 0; i < runtime.listeners.size(); ++i) {
    const ListenerConfig& l = runtime.listeners[i]->config;
    absl::StrAppendFormat(
        &json, "%s{\"name\":\"%s\",\"bind\":\"%s\",\"mode\":\"%s\",\"pool\":\"%s\"}", i ? "," : "",
        JsonEscape(l.name), JsonEscape(l.bind.ToString()), ModeName(l.mode), JsonEscape(l.pool));
  }
  json += "],\"pools\":[";
  for (size_t i = 0; i < runtime.pools.size(); ++i) {
    const Pool& pool = *runtime.pools[i];
    absl::StrAppendFormat(&json, "%s{\"name\":\"%s\",\"balance\":\"%s\",\"backends\":[",
                          i ? "," : "", JsonEscape(pool.config.name),
                          BalanceName(pool.config.balancer.kind));
    const bool checked = pool.config.health.check != HealthConfig::Check::kNone;
    for (size_t j = 0; j < pool.backends.size(); ++j) {
      const Backend& b = *pool.backends[j];
      absl::StrAppendFormat(
          &json,
          "%s{\"address\":\"%s\",\"weight\":%d,\"config_weight\":%d,\"admin_state\":\"%s\","
          "\"state\":\"%s\",\"active_connections\":%d,\"connect_failures\":%d",
          j ? "," : "", JsonEscape(b.key), b.weight.load(), pool.config.backends[j].weight,
          b.admin_drained.load() ? "drain" : "ready", b.healthy.load() ? "up" : "down",
          static_cast<int64_t>(b.active.load()), static_cast<uint64_t>(b.connect_failures.load()));
      AppendHealth(&json, b, checked);
      // Where the active checks go (another port than the traffic port with [pool.health] port
      // or the backend's health_port); null without active checks.
      if (checked) {
        absl::StrAppendFormat(
            &json, ",\"check_address\":\"%s\"}",
            JsonEscape(HealthCheckAddress(pool.config.backends[j], pool.config.health).ToString()));
      } else {
        json += ",\"check_address\":null}";
      }
    }
    json += "]}";
  }
  json += "]}\n";
  return json;
}

namespace {

// JSON of one backend's runtime-control state, the answer to a control request.
std::string ControlAnswer(const admin::ControlCommand& command,
                          const Lb4Server::ControlOutcome& outcome) {
  const Backend& b = *outcome.backend;
  return absl::StrFormat(
      "{\"pool\":\"%s\",\"server\":\"%s\",\"action\":\"%s\",\"admin_state\":\"%s\","
      "\"weight\":%d,\"config_weight\":%d,\"health\":\"%s\",\"active_connections\":%d}\n",
      metrics::JsonEscape(command.group), metrics::JsonEscape(b.key),
      admin::ControlActionName(command.action), b.admin_drained.load() ? "drain" : "ready",
      b.weight.load(), outcome.config_weight, b.healthy.load() ? "up" : "down",
      static_cast<int64_t>(b.active.load()));
}

admin::AdminResponse ApplyControl(Lb4Server* server, const admin::ControlCommand& command,
                                  const admin::AdminRequest& request) {
  absl::StatusOr<Lb4Server::ControlOutcome> outcome = server->Control(command);
  const std::string who = request.peer.valid() ? request.peer.ToString() : "unknown peer";
  if (!outcome.ok()) {
    const int status = absl::IsNotFound(outcome.status()) ? 404 : 500;
    LOG_WARN("admin: %d for %s %s/%s from %s: %s", status, admin::ControlActionName(command.action),
             command.group, command.server, who, outcome.status().message());
    return admin::JsonError(status, std::string(outcome.status().message()));
  }
  const Backend& b = *outcome->backend;
  const char* was = outcome->was_drained ? "drain" : "ready";
  const char* now = b.admin_drained.load() ? "drain" : "ready";
  LOG_INFO(
      "admin: %s set backend %s (pool \"%s\") %s: state %s -> %s, weight %d -> %d "
      "(config %d), %d connections open",
      who, b.key, command.group,
      command.action == admin::ControlAction::kWeight
          ? absl::StrFormat("weight %d", command.weight)
          : std::string(admin::ControlActionName(command.action)),
      was, now, outcome->was_weight, b.weight.load(), outcome->config_weight,
      static_cast<int64_t>(b.active.load()));
  admin::AdminResponse r;
  r.content_type = "application/json";
  r.body = ControlAnswer(command, *outcome);
  return r;
}

}  // namespace

admin::AdminRequestHandler MakeAdminHandler(Lb4Server* server, const AnnounceState* announce) {
  admin::ControlEndpoint control;
  control.prefix = "/backends";
  control.max_weight = kMaxBackendWeight;
  control.program = "lb4";
  control.token = [server] { return server->runtime()->config.admin_token; };
  control.apply = [server](const admin::ControlCommand& command,
                           const admin::AdminRequest& request) {
    return ApplyControl(server, command, request);
  };
  admin::AdminHandler read = [server, announce](std::string_view path) {
    admin::AdminResponse r;
    if (path == "/healthz") {
      r.status = server->stopping() ? 503 : 200;
      r.body = server->stopping() ? "draining\n" : "ok\n";
    } else if (path == "/metrics") {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = RenderMetrics(*server, announce);
    } else if (path == "/status") {
      r.content_type = "application/json";
      r.body = RenderStatus(*server, announce);
    } else if (path == "/dashboard") {
      r.content_type = "text/html; charset=utf-8";
      r.body = std::string(admin::DashboardHtml());
    } else {
      r.status = 404;
      r.content_type = "application/json";
      r.body =
          "{\"error\":\"not found\",\"paths\":[\"/healthz\",\"/metrics\",\"/status\","
          "\"/dashboard\",\"POST /backends/{pool}/{server}/drain|enable|weight?value=N\"]}\n";
    }
    return r;
  };
  return
      [control = std::move(control), read = std::move(read)](const admin::AdminRequest& request) {
        return admin::ServeAdminRequest(request, control, read);
      };
}

}  // namespace edge::l4
