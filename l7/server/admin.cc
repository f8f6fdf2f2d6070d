// gw7's admin views: /metrics (Prometheus text) and /status (JSON), rendered on the loop thread
// from GatewayStats and the current generation, and runtime control of upstream servers (see
// cli.cc for the endpoint).
#include "absl/strings/str_format.h"
#include "common/dns/dns_stats.h"
#include "common/log.h"
#include "common/metrics/prometheus.h"
#include "l7/server/gateway_server.h"

// The filters' own metrics, when those filters are built in (see filter_chain.cc).
#if __has_include("l7/filters/auth/auth_filter_factory.h")
#include "l7/filters/auth/auth_filter_factory.h"
#define EDGE_L7_AUTH_METRICS 1
#endif
#if __has_include("l7/filters/ratelimit/rate_limit_filter_factory.h")
#include "l7/filters/ratelimit/rate_limit_filter_factory.h"
#define EDGE_L7_RATE_LIMIT_METRICS 1
#endif
#include "l7/filters/cache/cache_filter_factory.h"
#include "l7/filters/concurrency/concurrency_filter_factory.h"
#include "l7/filters/soap/soap_response.h"

namespace edge::l7 {

std::string GatewayServer::RenderMetrics() {
  metrics::PrometheusText t;
  t.Family("gw7_connections_active", "gauge", "Client connections open now.");
  t.Sample("gw7_connections_active", {}, static_cast<double>(stats_.connections_active));
  t.Family("gw7_connections_total", "counter", "Client connections accepted.");
  t.Sample("gw7_connections_total", {}, static_cast<double>(stats_.connections_total));
  t.Family("gw7_connections_refused_total", "counter",
           "Client connections answered 503 and closed because max_connections were open.");
  t.Sample("gw7_connections_refused_total", {}, static_cast<double>(stats_.connections_refused));
  t.Family("gw7_proxy_headers_total", "counter", "PROXY headers accepted from trusted proxies.");
  t.Sample("gw7_proxy_headers_total", {}, static_cast<double>(stats_.proxy_headers));
  t.Family("gw7_http2_connections_total", "counter", "Client connections that spoke HTTP/2.");
  t.Sample("gw7_http2_connections_total", {}, static_cast<double>(stats_.h2_connections));
  t.Family("gw7_requests_total", "counter", "Responses sent, by route and status class.");
  static const char* kClasses[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const auto& [route, counts] : stats_.requests_by_route) {
    for (size_t c = 1; c <= 5; ++c) {
      if (counts[c] == 0) continue;
      t.Sample("gw7_requests_total",
               {{"route", route.empty() ? "-" : route}, {"class", kClasses[c]}},
               static_cast<double>(counts[c]));
    }
  }
  t.Family("gw7_soap_translations_total", "counter",
           "REST to SOAP translations by route and outcome.");
  for (const auto& [route, counts] : stats_.soap_translations) {
    for (size_t o = 0; o < counts.size(); ++o) {
      t.Sample("gw7_soap_translations_total",
               {{"route", route}, {"outcome", SoapOutcomeName(static_cast<SoapOutcome>(o))}},
               static_cast<double>(counts[o]));
    }
  }
  t.Family("gw7_aggregate_parts_total", "counter",
           "Parts of aggregated requests, by route and outcome.");
  static const char* kOutcomes[] = {"ok",       "error",      "timeout",  "too_large",
                                    "not_json", "not_object", "cancelled"};
  for (const auto& [route, counts] : stats_.aggregate_parts) {
    for (size_t o = 0; o < counts.size(); ++o) {
      t.Sample("gw7_aggregate_parts_total", {{"route", route}, {"outcome", kOutcomes[o]}},
               static_cast<double>(counts[o]));
    }
  }
  t.Family("gw7_errors_total", "counter", "Errors by kind.");
  for (const auto& [kind, n] : stats_.errors) {
    t.Sample("gw7_errors_total", {{"kind", kind}}, static_cast<double>(n));
  }
  t.Family("gw7_retries_total", "counter", "Upstream attempts after a failed one.");
  t.Sample("gw7_retries_total", {}, static_cast<double>(stats_.retries));
  t.Family("gw7_stripped_headers_total", "counter",
           "Client request fields and trailers that gw7 owns (identity, forwarding, internal), "
           "removed before forwarding.");
  t.Sample("gw7_stripped_headers_total", {}, static_cast<double>(stats_.stripped_headers));
  t.Family("gw7_client_buffer_fallbacks_total", "counter",
           "Client receives that found the shared receive buffer ring empty and used a buffer of "
           "the connection's own instead.");
  t.Sample("gw7_client_buffer_fallbacks_total", {},
           static_cast<double>(stats_.client_buffer_fallbacks));
  t.Family("gw7_compressed_responses_total", "counter",
           "Responses whose body gw7 compressed (route compress), by coding.");
  t.Sample("gw7_compressed_responses_total", {{"coding", "gzip"}},
           static_cast<double>(stats_.compressed_gzip));
  t.Sample("gw7_compressed_responses_total", {{"coding", "br"}},
           static_cast<double>(stats_.compressed_br));
  t.Family("gw7_compression_input_bytes_total", "counter", "Body bytes gw7 compressed.");
  t.Sample("gw7_compression_input_bytes_total", {},
           static_cast<double>(stats_.compression_bytes_in));
  t.Family("gw7_compression_output_bytes_total", "counter", "Body bytes compression produced.");
  t.Sample("gw7_compression_output_bytes_total", {},
           static_cast<double>(stats_.compression_bytes_out));
  t.Family("gw7_reloads_total", "counter", "Config reloads by result.");
  t.Sample("gw7_reloads_total", {{"result", "ok"}}, static_cast<double>(stats_.reloads_ok));
  t.Sample("gw7_reloads_total", {{"result", "failed"}}, static_cast<double>(stats_.reloads_failed));
  t.Family("gw7_upstream_server_up", "gauge",
           "1 when the server takes requests (healthy, not ejected).");
  const int64_t now = loop_->now_ns();
  for (const auto& up : runtime_->upstreams) {
    for (const auto& s : up->servers) {
      t.Sample("gw7_upstream_server_up", {{"upstream", up->config->name}, {"server", s->key}},
               s->Healthy(now) ? 1 : 0);
    }
  }
  t.Family("gw7_upstream_server_admin_drained", "gauge",
           "1 while runtime control drains the server (POST /upstreams/{upstream}/{server}/drain): "
           "no new requests, those in flight finish.");
  for (const auto& up : runtime_->upstreams) {
    for (const auto& s : up->servers) {
      t.Sample("gw7_upstream_server_admin_drained",
               {{"upstream", up->config->name}, {"server", s->key}}, s->admin_drained ? 1 : 0);
    }
  }
  t.Family("gw7_upstream_server_weight", "gauge",
           "The server's weight in force: the config's, or one set by runtime control.");
  for (const auto& up : runtime_->upstreams) {
    for (const auto& s : up->servers) {
      t.Sample("gw7_upstream_server_weight", {{"upstream", up->config->name}, {"server", s->key}},
               static_cast<double>(s->weight()));
    }
  }
  t.Family("gw7_upstream_panic", "gauge",
           "1 while fewer than panic_threshold percent of the upstream's servers are healthy and "
           "every server gets requests regardless of health.");
  for (const auto& up : runtime_->upstreams) {
    t.Sample("gw7_upstream_panic", {{"upstream", up->config->name}},
             up->health->InPanic(now) ? 1 : 0);
  }
  t.Family("gw7_upstream_panic_requests_total", "counter",
           "Attempts sent to an upstream while it was in panic.");
  for (const auto& up : runtime_->upstreams) {
    t.Sample("gw7_upstream_panic_requests_total", {{"upstream", up->config->name}},
             static_cast<double>(up->health->PanicRequests(now)));
  }
  t.Family("gw7_upstream_requests_total", "counter", "Attempts sent to each upstream server.");
  for (const auto& up : runtime_->upstreams) {
    for (const auto& s : up->servers) {
      t.Sample("gw7_upstream_requests_total", {{"upstream", up->config->name}, {"server", s->key}},
               static_cast<double>(s->requests));
    }
  }
#ifdef EDGE_L7_AUTH_METRICS
  if (auto auth = CurrentAuthRegistry()) WriteAuthMetrics(*auth, &t);
#endif
#ifdef EDGE_L7_RATE_LIMIT_METRICS
  if (auto limits = CurrentRateLimitRegistry()) WriteRateLimitMetrics(*limits, &t);
#endif
  if (auto concurrency = CurrentConcurrencyRegistry()) WriteConcurrencyMetrics(*concurrency, &t);
  dns::ProcessDnsStats().Render(&t, "gw7");  // upstream servers by name ([dns])
  observer_->WriteMetrics(&t);
  if (auto caches = CurrentCacheRegistry()) WriteCacheMetrics(*caches, &t);
  std::string text = t.text();
  // One histogram family with an `upstream` label.
  text += "# HELP gw7_upstream_latency_seconds Upstream response-head latency.\n";
  text += "# TYPE gw7_upstream_latency_seconds histogram\n";
  for (const auto& [name, histogram] : stats_.upstream_latency) {
    std::array<uint64_t, metrics::DurationHistogram::kBuckets> counts{};
    double sum = 0;
    histogram.AddTo(&counts, &sum);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      std::string le = i < metrics::kDurationBuckets.size()
                           ? absl::StrFormat("%g", metrics::kDurationBuckets[i])
                           : std::string("+Inf");
      absl::StrAppendFormat(&text,
                            "gw7_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"%s\"} %d\n",
                            metrics::JsonEscape(name), le, cumulative);
    }
    absl::StrAppendFormat(&text, "gw7_upstream_latency_seconds_sum{upstream=\"%s\"} %.9g\n",
                          metrics::JsonEscape(name), sum);
    absl::StrAppendFormat(&text, "gw7_upstream_latency_seconds_count{upstream=\"%s\"} %d\n",
                          metrics::JsonEscape(name), cumulative);
  }
  return text;
}

std::string GatewayServer::RenderUsage() { return observer_->RenderUsage(); }

std::string GatewayServer::RenderStatus() {
  const int64_t now = loop_->now_ns();
  std::string j = absl::StrFormat(
      "{\"listen\":\"%s\",\"draining\":%s,\"generation\":%d,\"config\":\"%s\","
      "\"connections\":%d,\"routes\":[",
      listen_address_.ToString(), draining_.load() ? "true" : "false", runtime_->generation,
      metrics::JsonEscape(runtime_->config.path), stats_.connections_active);
  bool first = true;
  for (const RouteRuntime& r : runtime_->routes) {
    absl::StrAppendFormat(&j,
                          "%s{\"name\":\"%s\",\"host\":\"%s\",\"path\":\"%s\",\"upstream\":\"%s\","
                          "\"filters\":%d}",
                          first ? "" : ",", metrics::JsonEscape(r.config->name),
                          metrics::JsonEscape(r.config->host), metrics::JsonEscape(r.config->path),
                          metrics::JsonEscape(r.config->upstream),
                          static_cast<int>(r.filters.size()));
    first = false;
  }
  j += "],\"upstreams\":[";
  first = true;
  for (const auto& up : runtime_->upstreams) {
    absl::StrAppendFormat(&j, "%s{\"name\":\"%s\",\"balance\":\"%s\",\"panic\":%s,\"servers\":[",
                          first ? "" : ",", metrics::JsonEscape(up->config->name),
                          ConfigName(up->config->balance),
                          up->health->InPanic(now) ? "true" : "false");
    first = false;
    bool first_server = true;
    for (const auto& s : up->servers) {
      absl::StrAppendFormat(
          &j,
          "%s{\"address\":\"%s\",\"admin_state\":\"%s\",\"weight\":%d,\"config_weight\":%d,"
          "\"available\":%s,\"check\":\"%s\",\"ejected\":%s,"
          "\"consecutive_failures\":%d,\"ejections\":%d,\"active\":%d,\"requests\":%d,"
          "\"failures\":%d,\"idle_connections\":%d,\"checks\":{\"ok\":%d,\"fail\":%d},"
          "\"last_check\":\"%s\"}",
          first_server ? "" : ",", s->key, s->admin_drained ? "drain" : "ready", s->weight(),
          s->config_weight, s->Healthy(now) ? "true" : "false",
          !up->config->health.enabled ? "none" : (s->check.up() ? "up" : "down"),
          s->passive.ejected(now) ? "true" : "false", s->passive.consecutive_failures(),
          s->passive.ejections(), s->active, s->requests, s->failures,
          static_cast<int>(s->pool.idle_count()), s->checks_ok, s->checks_failed,
          metrics::JsonEscape(s->last_check));
      first_server = false;
    }
    j += "]}";
  }
  j += "]}\n";
  return j;
}

admin::AdminResponse GatewayServer::Control(const admin::ControlCommand& command,
                                            const net::SocketAddress& peer) {
  const std::string who = peer.valid() ? peer.ToString() : "unknown peer";
  UpstreamRuntime* up = nullptr;
  for (const auto& candidate : runtime_->upstreams) {
    if (candidate->config->name == command.group) up = candidate.get();
  }
  UpstreamServer* server = nullptr;
  if (up != nullptr) {
    for (const auto& s : up->servers) {
      if (s->key == command.server) server = s.get();
    }
  }
  if (server == nullptr) {
    const std::string message = up == nullptr ? absl::StrFormat("no upstream \"%s\"", command.group)
                                              : absl::StrFormat("upstream \"%s\" has no server %s",
                                                                command.group, command.server);
    LOG_WARN("admin: 404 for %s %s/%s from %s: %s", admin::ControlActionName(command.action),
             command.group, command.server, who, message);
    return admin::JsonError(404, message);
  }
  const bool was_drained = server->admin_drained;
  const uint32_t was_weight = server->weight();
  switch (command.action) {
    case admin::ControlAction::kDrain:
      server->admin_drained = true;
      break;
    case admin::ControlAction::kEnable:
      server->admin_drained = false;
      break;
    case admin::ControlAction::kWeight:
      // Back to the config's weight is no override: a later reload treats it as any other.
      server->admin_weight = command.weight == server->config_weight ? 0 : command.weight;
      if (server->weight() != was_weight) up->ApplyWeights();
      break;
  }
  LOG_INFO(
      "admin: %s set upstream \"%s\" server %s %s: state %s -> %s, weight %d -> %d "
      "(config %d), %d requests in flight",
      who, command.group, server->key,
      command.action == admin::ControlAction::kWeight
          ? absl::StrFormat("weight %d", command.weight)
          : std::string(admin::ControlActionName(command.action)),
      was_drained ? "drain" : "ready", server->admin_drained ? "drain" : "ready", was_weight,
      server->weight(), server->config_weight, server->active);
  const int64_t now = loop_->now_ns();
  admin::AdminResponse r;
  r.content_type = "application/json";
  r.body = absl::StrFormat(
      "{\"upstream\":\"%s\",\"server\":\"%s\",\"action\":\"%s\",\"admin_state\":\"%s\","
      "\"weight\":%d,\"config_weight\":%d,\"healthy\":%s,\"active\":%d}\n",
      metrics::JsonEscape(command.group), metrics::JsonEscape(server->key),
      admin::ControlActionName(command.action), server->admin_drained ? "drain" : "ready",
      server->weight(), server->config_weight, server->Healthy(now) ? "true" : "false",
      server->active);
  return r;
}

}  // namespace edge::l7
