#pragma once
// gw7's counters, kept on the loop thread (plain integers: one writer, and the admin endpoint
// reads them through the loop too). Rendered by admin.cc.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/metrics/prometheus.h"

namespace edge::l7 {

struct GatewayStats {
  uint64_t connections_total = 0;
  int64_t connections_active = 0;
  // Over max_connections: answered 503 and closed.
  uint64_t connections_refused = 0;
  uint64_t proxy_headers = 0;   // PROXY headers accepted from trusted proxies
  uint64_t h2_connections = 0;  // client connections that spoke HTTP/2
  uint64_t requests_total = 0;  // final responses sent (any status)
  uint64_t retries = 0;
  uint64_t stripped_headers = 0;  // client fields (and trailers) gw7 owns, removed (SPEC-11)
  // Client receives that found the loop's buffer ring empty (-ENOBUFS) and were made again into
  // the connection's own buffer (client_connection.h): many at once means the ring is too small.
  uint64_t client_buffer_fallbacks = 0;
  uint64_t reloads_ok = 0, reloads_failed = 0;
  // Response compression (l7/filters/transform): responses compressed, by coding, and their body
  // bytes before and after (the ratio operators watch).
  uint64_t compressed_gzip = 0, compressed_br = 0;
  uint64_t compression_bytes_in = 0, compression_bytes_out = 0;
  // REST -> SOAP translations (l7/filters/soap) by route and outcome: the index is SoapOutcome
  // (ok, fault, bad_xml, too_large, bad_request).
  std::map<std::string, std::array<uint64_t, 5>, std::less<>> soap_translations;
  // Requests by route ("" for no route) and status class: index 1..5 for 1xx..5xx.
  std::map<std::string, std::array<uint64_t, 6>, std::less<>> requests_by_route;
  // Errors by kind: "bad_request", "header_timeout", "connect_failed", "bad_response", ...
  std::map<std::string, uint64_t, std::less<>> errors;
  // Aggregation parts (l7/filters/aggregate) by route and outcome, indexed by PartOutcome:
  // ok, error, timeout, too_large, not_json, not_object, cancelled.
  std::map<std::string, std::array<uint64_t, 7>, std::less<>> aggregate_parts;
  // Upstream latency (request start to response head), per upstream name.
  std::map<std::string, metrics::DurationHistogram, std::less<>> upstream_latency;

  void CountResponse(std::string_view route, int status) {
    ++requests_total;
    auto it = requests_by_route.find(route);
    if (it == requests_by_route.end())
      it = requests_by_route.emplace(route, std::array<uint64_t, 6>{}).first;
    int cls = status / 100;
    if (cls >= 1 && cls <= 5) ++it->second[static_cast<size_t>(cls)];
  }
  void CountSoapTranslation(std::string_view route, size_t outcome) {
    auto it = soap_translations.find(route);
    if (it == soap_translations.end())
      it = soap_translations.emplace(route, std::array<uint64_t, 5>{}).first;
    if (outcome < it->second.size()) ++it->second[outcome];
  }
  void CountAggregatePart(std::string_view route, size_t outcome) {
    auto it = aggregate_parts.find(route);
    if (it == aggregate_parts.end())
      it = aggregate_parts.emplace(route, std::array<uint64_t, 7>{}).first;
    if (outcome < it->second.size()) ++it->second[outcome];
  }
  void CountError(std::string_view kind) {
    auto it = errors.find(kind);
    if (it == errors.end()) it = errors.emplace(kind, 0).first;
    ++it->second;
  }
  void ObserveLatency(std::string_view upstream, double seconds) {
    auto it = upstream_latency.find(upstream);
    if (it == upstream_latency.end()) {
      it = upstream_latency
               .emplace(std::piecewise_construct, std::forward_as_tuple(upstream),
                        std::forward_as_tuple())
               .first;
    }
    it->second.Observe(seconds);
  }
};

}  // namespace edge::l7
