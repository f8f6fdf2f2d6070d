#pragma once
// gw7's configuration: conf/gateway.toml (DESIGN.md, "Config contract") parsed into plain structs.
//
// Parsing is strict like lb4's (l4/config.h): unknown keys, wrong types and out-of-range values
// are errors, each reported as "FILE:LINE:COL: CONTEXT: KEY: MESSAGE" with the allowed values, e.g.
//   conf/gateway.toml:14:11: upstream "products": balance: unknown value "rr" (round_robin|...)
// Every error of a file is reported (one per line, in file order), not just the first. Durations
// are between 1ms and 24h. A GatewayConfig that comes out of ParseGatewayConfig/LoadGatewayConfig
// is consistent: route and upstream names are unique, every route's upstream exists, regexes
// compile, templates are well formed, methods are upper-case tokens.
//
// The top-level [[auth]], [[rate_limit]], [[concurrency_limit]] and [redis] are accepted here
// without looking inside:
// the filters (l7/filters/*) validate them from `document`, which keeps the whole parsed file.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/toml.h"
#include "common/dns/dns_config.h"
#include "common/dns/target.h"
#include "common/health/check_config.h"
#include "common/log/access_log_config.h"
#include "common/net/address.h"
#include "common/net/cidr.h"
#include "l7/filters/aggregate/aggregate_config.h"
#include "l7/filters/soap/soap_config.h"
#include "l7/filters/transform/compression_config.h"
#include "l7/filters/transform/cors_config.h"
#include "l7/filters/transform/header_transform_config.h"

namespace edge::l7 {

enum class UpstreamBalance { kRoundRobin, kLeastRequest, kP2cEwma, kMaglev };

// [[upstream]] protocol: what gw7 speaks to the servers. http1: HTTP/1.1 keep-alive connections,
// one request each at a time (l7/upstream/connection_pool.h); h2c: HTTP/2 over TCP with prior
// knowledge, h2: HTTP/2 over TLS with ALPN "h2" (`tls`; l7/upstream/tls_upstream_link.h); an
// HTTP/2 connection carries many requests at once (l7/upstream/h2_connection_pool.h).
enum class UpstreamProtocol { kHttp1, kH2c, kH2 };

// [[upstream]] tls = { ... } (protocol = "h2"): how gw7 checks the servers' certificates.
struct UpstreamTlsConfig {
  bool verify = true;       // the chain must lead to a CA of ca_file (and match server_name)
  std::string ca_file;      // PEM; required when verify
  std::string server_name;  // SNI and the name checked; "" = neither
};

// [[upstream]] health = { ... }: active checks, read by common/health's reader (check_config.h,
// the same keys and rules as lb4's [pool.health]). gw7's defaults: an http GET of /health every
// 2s (timeout 1s) once the table is there.
struct UpstreamHealthConfig : health::ActiveCheckConfig {
  UpstreamHealthConfig() {
    check = Check::kHttp;
    path = "/health";
    interval = absl::Seconds(2);
    timeout = absl::Seconds(1);
  }
  bool enabled = false;  // true when the upstream has a `health` table whose check is not none
};

// A server given by name, resolved through [dns] (common/dns): "api.internal:9101" (its A/AAAA
// records, each address a server of `weight`) or { srv = "_http._tcp.api.internal" } (its SRV
// records: ports and weights, lowest priority group). l7/server/upstream_discovery.h appends the
// answers to `servers` before a generation is built.
struct NamedServerConfig {
  dns::DnsTarget target;  // unique within its upstream
  uint32_t weight = 1;    // host names only
};

// Passive ejection (common/health's EjectionConfig, the same keys and back-off as lb4's, on the
// [[upstream]] table itself): passive_failures consecutive failed requests (connect errors,
// resets, bad responses, timeouts) eject a server for ejection_time, doubling while it keeps
// failing up to max_ejection_time, never more than max_ejection_percent of the servers at once.
// gw7's default: passive_failures = 5.
struct UpstreamConfig : health::EjectionConfig {
  UpstreamConfig() { passive_failures = 5; }

  std::string name;
  UpstreamBalance balance = UpstreamBalance::kRoundRobin;
  std::string hash_on = "client_ip";  // maglev key: "client_ip" | "header:NAME" | "cookie:NAME"
  std::vector<net::SocketAddress> servers;  // at least one, unique, never port 0
  std::vector<uint32_t> weights;            // same length as servers; 1..10000 each
  // Servers given by name: with them, `servers` may be empty in the file (not once expanded).
  std::vector<NamedServerConfig> named_servers;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration request_timeout = absl::Seconds(15);
  int retries = 1;                    // extra attempts for idempotent requests, 0..10
  uint32_t max_idle_per_server = 64;  // keep-alive pool size
  // Envoy's panic threshold, 0..100: while fewer than this share of the servers are healthy
  // (active checks up, not ejected), health is ignored and every server gets requests
  // (health_policy.h InPanic). 0 = never: with no healthy server the answer is 503.
  int panic_threshold = 50;
  UpstreamHealthConfig health;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  // HTTP/2 (h2c, h2): connections per server at most; each carries up to the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS requests, and requests beyond all of them wait.
  uint32_t h2_max_connections = 4;
  UpstreamTlsConfig tls;  // protocol = "h2"
};

enum class PathMatch { kAny, kExact, kPrefix, kTemplate, kRegex };

struct HeaderMatch {
  std::string name;                  // lower case
  std::optional<std::string> value;  // exact value; no value: the header must be present
};

struct RouteConfig {
  std::string name;
  std::string host;  // "" any, exact (lower case), or "*.suffix" (matches any.thing.suffix)
  PathMatch path_kind = PathMatch::kAny;
  std::string path;                  // from path | path_prefix | path_template | path_regex
  std::vector<std::string> methods;  // upper case; empty: any
  std::vector<HeaderMatch> headers;
  std::string upstream;
  std::string strip_prefix;
  std::string prefix_rewrite;  // replaces the matched path_prefix
  std::string auth;
  std::vector<std::string> require_scopes;
  std::vector<std::pair<std::string, std::string>> require_claims;
  std::string rate_limit;
  std::string concurrency_limit;  // a [[concurrency_limit]]
  std::string cache;              // a [[cache]]
  bool cache_set_cookie = false;  // with cache: responses with Set-Cookie may be stored
  // The older key: fields appended to the request upstream (request_headers.add does the same).
  std::vector<std::pair<std::string, std::string>> add_request_headers;
  // request_headers / response_headers, cors, compress (l7/filters/transform/).
  HeaderEdits request_headers;
  HeaderEdits response_headers;
  std::optional<CorsConfig> cors;
  std::optional<CompressionConfig> compress;
  // soap (l7/filters/soap/soap_config.h): REST -> SOAP translation; shared, since the template
  // is read once per load.
  std::shared_ptr<const SoapConfig> soap;
  // Request aggregation (l7/filters/aggregate/): the route answers from its parts, has no upstream.
  std::optional<AggregateConfig> aggregate;
  // Forward a client's "Upgrade: h2c" and HTTP2-Settings (otherwise removed: an h2c tunnel would
  // carry requests past routing, auth and limits).
  bool allow_h2c_upgrade = false;
  // ASCII case-folded comparison of this route's path/prefix/template/regex (captures keep the
  // request's case); for upstreams that ignore case, so that "/Admin" cannot bypass this route.
  bool case_insensitive = false;
  // This route's access-log sample rate (0..1) instead of [gw7.access_log] sample.
  std::optional<double> access_log_sample;
};

// [gw7] escaped_slashes, merge_slashes, path_parameters: how gw7 normalises a request path
// before routing (l7/router/path_normalizer.h). The defaults are the safe choice; the others
// exist for upstreams that give "%2F", "//" or ";" a meaning of their own.
enum class EscapedSlashes { kReject, kKeep };
enum class PathParameters { kReject, kStrip };
struct PathNormalization {
  EscapedSlashes escaped_slashes = EscapedSlashes::kReject;
  bool merge_slashes = true;
  PathParameters path_parameters = PathParameters::kReject;
};

struct LimitsConfig {
  uint64_t max_header_bytes = 16384;
  uint64_t max_body_bytes = 10 << 20;
  uint64_t max_uri_bytes = 8192;
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  // A client connection whose queued output makes no progress for this long (the client takes
  // no bytes) is closed, in every state: a slow reader cannot hold a connection and its buffers.
  absl::Duration send_timeout = absl::Seconds(30);
};

// [gw7.http2]: limits of HTTP/2 client connections (l7/codec/http2_codec.h).
struct Http2Config {
  // SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond it are refused (RST_STREAM REFUSED_STREAM).
  uint32_t max_concurrent_streams = 100;
};

// [gw7] proxy_protocol: whether a connection begins with a PROXY header (from trusted_proxies).
//   kOff:      never; a PROXY header is an ordinary (bad) request (`false`);
//   kOptional: from trusted_proxies when present, a plain request otherwise (`true`);
//   kRequired: every connection must begin with one, from a peer in trusted_proxies.
enum class ProxyProtocolPolicy { kOff, kOptional, kRequired };

inline constexpr uint32_t kMaxServerWeight = 10000;  // upstream servers' weights: 1..10000

struct GatewayConfig {
  std::string path;  // file it came from
  net::SocketAddress listen;
  std::optional<net::SocketAddress> admin;
  // [gw7] admin_token_file: the token that runtime control (POST /upstreams/...) requires
  // (common/admin/admin_token.h), read when the config is loaded (start, --check, SIGHUP).
  // Empty / nullopt: no token, control from loopback only.
  std::string admin_token_file;
  std::optional<std::string> admin_token;
  ProxyProtocolPolicy proxy_protocol = ProxyProtocolPolicy::kOff;
  std::vector<net::Cidr> trusted_proxies;
  // Request fields clients must never set, stripped like X-Consumer (any case, '_' for '-').
  std::vector<std::string> internal_headers;
  // [gw7] keep_method_override: false (default) strips X-HTTP-Method-Override, X-HTTP-Method and
  // X-Method-Override from every request. A backend that honours them would run another method
  // than the one gw7 routed, authorised and rate-limited (a GET route's scope used for a DELETE).
  bool keep_method_override = false;
  LimitsConfig limits;
  // [gw7] http2: a client connection may speak HTTP/2 (h2c with prior knowledge, or h2 when a
  // trusted proxy's PROXY v2 header carries ALPN "h2"); off, such a connection is refused as today.
  bool http2 = false;
  Http2Config http2_limits;  // [gw7.http2]
  PathNormalization path_normalization;
  absl::Duration drain_timeout = absl::Seconds(30);
  // SIGTERM: /healthz answers 503 at once, but gw7 keeps accepting for this long (longer than
  // the load balancer's fall x interval, so it stops sending first), answering every request
  // with `Connection: close`; then drain_timeout begins. 0: stop accepting at once.
  absl::Duration drain_delay = absl::ZeroDuration();
  // While the loop is busy (16 completions come within this time), an I/O wait returns at 32
  // completions or this long after the first (Linux >= 6.12; 0: never batch); otherwise waits
  // last at most 20 us. One wake-up then serves many connections. Takes effect at start, not on
  // reload. 300 against a fixed 20: l7-h2 CPU per request -38%, l7-keepalive -16%.
  uint32_t batch_wait_us = 300;
  // Client connections open at once; one over it is answered 503 and closed. 0: half of
  // RLIMIT_NOFILE (a client may need an upstream socket as well).
  uint32_t max_connections = 0;
  // [gw7.access_log]: one JSON line per request (l7/observe/access_log.h). Off when absent.
  log::AccessLogConfig access_log;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  dns::DnsConfig dns;  // [dns]: resolving servers given by name
  // [[auth]], [[rate_limit]], [[concurrency_limit]] and [redis] are validated by l7/filters/*
  // (they receive this table).
  std::shared_ptr<const toml::table> document;

  // nullptr when no upstream has that name.
  const UpstreamConfig* FindUpstream(std::string_view name) const;
  // -1 when no upstream has that name.
  int UpstreamIndex(std::string_view name) const;
};

// Reads and validates; every error as file:line:col with the key and what is allowed (like
// l4/config.cc). Errors are InvalidArgument (exit status 2).
absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path);
absl::StatusOr<GatewayConfig> ParseGatewayConfig(std::string_view text, const std::string& path);

// "round_robin", "least_request", "p2c_ewma", "maglev".
std::string_view ConfigName(UpstreamBalance balance);
// "http1", "h2c", "h2".
std::string_view ConfigName(UpstreamProtocol protocol);

// Validators shared with the router (which must accept exactly what the config accepts).
// A path template: starts with '/', segments separated by '/', each either literal (no '{' '}')
// or exactly "{name}" with name of [A-Za-z0-9_], names unique. OK or InvalidArgument saying why.
absl::Status ValidatePathTemplate(std::string_view path_template);

}  // namespace edge::l7
