#pragma once
// lb4's configuration: conf/edge.toml (DESIGN.md, "Config contract") parsed into plain structs.
//
// Parsing is strict: unknown keys, wrong types and out-of-range values are errors, each reported
// as "FILE:LINE:COL: CONTEXT: KEY: MESSAGE" with the allowed values, e.g.
//   conf/edge.toml:14:11: pool "gateways": balance: unknown value "magelv" (maglev|round_robin|...)
// Every error of a file is reported (one per line, in file order), not just the first.
// Every duration is between 1ms and 24h (so that it fits any millisecond timer); other ranges are
// noted per field. A Lb4Config that comes out of ParseLb4Config/LoadLb4Config is complete and
// consistent: names are unique, every listener's pool exists, addresses do not collide; nothing
// else needs re-checking.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dns/dns_config.h"
#include "common/dns/target.h"
#include "common/health/check_config.h"
#include "common/log/access_log_config.h"
#include "common/net/address.h"
#include "common/net/cidr.h"
#include "l4/balancer/balancer.h"

namespace edge::l4 {

enum class ListenerMode { kTcp, kTls, kTlsPassthrough };
enum class ProxyProtocolMode { kOff, kV1, kV2 };  // header lb4 sends to the backend

inline constexpr uint32_t kMaxBackendWeight = 10000;  // backends' weights: 1..10000

struct BackendConfig {
  net::SocketAddress address;  // never port 0; unique within its pool
  uint32_t weight = 1;         // 1..10000
  // 1..65535: active checks of this backend go to its address with this port; 0 = the pool's
  // [pool.health] port. For backends that each answer checks on their own port (every gw7
  // instance on one machine has its own admin port).
  uint16_t health_port = 0;
};

// A backend given by name, resolved through [dns] (common/dns): `address = "api.internal:8080"`
// (its A/AAAA records, each address a backend of `weight`) or `srv = "_http._tcp.api.internal"`
// (its SRV records: ports and weights, lowest priority group). l4/discovered_backends.h turns the
// answers into BackendConfigs; everything after that sees addresses only.
struct NamedBackendConfig {
  dns::DnsTarget target;  // unique within its pool
  uint32_t weight = 1;    // host names only (SRV records carry their own)
  uint16_t health_port = 0;
};

// [pool.health]: active checks and passive ejection, both read by common/health's reader
// (check_config.h, where each field is described). lb4's defaults are the structs' own; passive
// ejection is on by default (kDefaultPassiveFailures) only next to active checks.
struct HealthConfig : health::ActiveCheckConfig, health::EjectionConfig {};

// Where active checks of `backend` go: its address, with health_port, else health.port, else its
// own port.
net::SocketAddress HealthCheckAddress(const BackendConfig& backend, const HealthConfig& health);

// passive_failures when [pool.health] does not set it and check is tcp or http.
inline constexpr int kDefaultPassiveFailures = 5;

// [pool.tls]: TLS from lb4 to the pool's backends, for mode = "tls" and mode = "tcp" listeners
// (lb4 holds the plaintext there), not tls_passthrough ones (the client's TLS passes untouched).
// Names follow HAProxy's `server ... ssl verify required ca-file F sni ...` and
// Envoy's UpstreamTlsContext.
struct PoolTlsConfig {
  bool enabled = false;  // true once [pool.tls] is present, unless enabled = false
  bool verify = true;    // check the backend's certificate; false must be explicit
  std::string ca_file;   // PEM CAs the backends' chains must lead to; required when verify
  // Server name sent as SNI, and the name the certificate must match; "" = no SNI, chain only.
  std::string sni;
  std::vector<std::string> alpn;  // offered to the backends, in order; empty = none
  int min_version = 0x0303;       // "1.2" (0x0303) or "1.3" (0x0304)
  bool session_reuse = true;      // resume with each backend's last session
};

struct PoolConfig {
  std::string name;          // 1-64 of [A-Za-z0-9_.-], unique among pools
  BalancerOptions balancer;  // kind, hash, table_size (prime, >= backends.size() for maglev)
  absl::Duration connect_timeout = absl::Seconds(2);
  int connect_retries = 2;              // 0..16: further backends tried after a failed connect
  std::vector<BackendConfig> backends;  // in config order; with named_backends, at least one
  // Backends given by name (NamedBackendConfig): their resolved addresses are appended to
  // `backends` (ExpandNamedBackends) before a Runtime is built.
  std::vector<NamedBackendConfig> named_backends;
  HealthConfig health;
  PoolTlsConfig tls;
};

// mode = "tls_passthrough": connections whose ClientHello names `sni` go to `pool`. `sni` is a host
// name (lowercase) or "*." + host name, which matches exactly one more label ("*.example.com"
// matches "a.example.com", not "example.com" nor "a.b.example.com"), like a certificate wildcard.
// Exact names win over wildcards; a hello matching no route goes to the listener's pool.
struct SniRoute {
  std::string sni;   // unique within the listener
  std::string pool;  // names an entry of Lb4Config::pools
};

// mode = "tls": `tls = { certificates = [{ cert, key }], alpn = [...], min_version = "1.2", ... }`.
struct TlsListenerConfig {
  struct Certificate {
    std::string cert;  // PEM chain file, leaf first
    std::string key;   // PEM key file
  };
  enum class ClientAuth { kNone, kOptional, kRequired };
  std::vector<Certificate> certificates;  // at least one; the first is the default (no SNI match)
  std::vector<std::string> alpn;          // server preference order; each 1-255 bytes, unique
  int min_version = 0x0303;               // "1.2" (0x0303) or "1.3" (0x0304)
  std::string ciphers;                    // TLS 1.2 cipher list, OpenSSL syntax; "" = default
  std::string ciphersuites;               // TLS 1.3 suites; "" = default
  std::string client_ca;                  // PEM CA file; required when client_auth is not none
  ClientAuth client_auth = ClientAuth::kNone;
  bool session_tickets = true;
  absl::Duration ticket_key_rotation = absl::Hours(1);  // 1m..24h
};

// `new_connections_per_source = { rate = 100, per = "1s", burst = 50 }`: a token bucket per
// client source of `burst` tokens, refilled at rate/per; each new connection takes one.
struct SourceRateConfig {
  uint32_t rate = 0;                      // 1..1000000; 0 (key absent) = no rate limit
  absl::Duration per = absl::Seconds(1);  // 1ms..24h
  uint32_t burst = 0;                     // 1..1000000; defaults to rate
};

struct ListenerConfig {
  std::string name;         // 1-64 of [A-Za-z0-9_.-], unique among listeners
  net::SocketAddress bind;  // unique among listeners and admin, except port 0 (any free port)
  ListenerMode mode = ListenerMode::kTcp;
  std::string pool;  // names an entry of Lb4Config::pools
  ProxyProtocolMode proxy_protocol = ProxyProtocolMode::kOff;
  absl::Duration idle_timeout = absl::Minutes(5);
  // tls and tls_passthrough: the ClientHello (passthrough) or the whole handshake (tls) must
  // arrive within this, else the connection is closed and counted.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // tls_passthrough only: SNI routes, and the largest ClientHello accepted (1KiB..64KiB).
  std::vector<SniRoute> routes;
  uint32_t max_client_hello = 16384;
  TlsListenerConfig tls;  // mode = "tls" only
  // L4 protection (l4/protection/source_guard.h), checked right after accept, before any backend
  // connect; a refused client is closed and counted by reason. A source is an IPv4 address or
  // an IPv6 /64.
  std::vector<net::Cidr> allow;             // non-empty: only clients in these networks
  std::vector<net::Cidr> deny;              // never served; wins over allow
  uint32_t max_connections_per_source = 0;  // live connections per source, 1..1000000; 0 = off
  SourceRateConfig new_connections_per_source;
  // Sources tracked per worker for the two per-source limits (16..4194304, 48 bytes each); see
  // l4/protection/source_table.h for what happens when it is full.
  uint32_t source_table_size = 16384;

  bool has_per_source_limits() const {
    return max_connections_per_source != 0 || new_connections_per_source.rate != 0;
  }
  bool has_protection() const { return !allow.empty() || !deny.empty() || has_per_source_limits(); }
};

// [lb4.announce]: several lb4 machines behind routers that spread a VIP over them by ECMP
// (DESIGN.md "Why this shape"). lb4 keeps a host route (/32, /128 via `lo`) for each VIP in a
// kernel routing table that the machine's routing daemon exports to its peers (bird2: `protocol
// kernel { kernel table N; learn; }` and a BGP export of those routes; see README "ECMP and BGP").
// The routes are present while lb4 serves and every pool in `pools` has a healthy backend, and are
// withdrawn on SIGTERM `drain_delay` before lb4 stops accepting, so routers stop sending first
// (l4/announce/vip_announcer.h).
struct AnnounceConfig {
  std::vector<net::SocketAddress> vips;  // empty: announcing is off; port 0
  uint32_t table = 0;                    // 1..2^32-1, not 253 (default), 254 (main), 255 (local)
  std::vector<std::string> pools;        // empty: every pool a listener (or SNI route) uses
  absl::Duration drain_delay = absl::Seconds(2);

  bool enabled() const { return !vips.empty(); }
  bool operator==(const AnnounceConfig&) const = default;
};

struct Lb4Config {
  int workers = 0;                          // 0..1024; 0 = one per CPU
  uint64_t max_connections = 100000;        // >= 1
  std::optional<net::SocketAddress> admin;  // absent: no admin endpoint
  // [lb4] admin_token_file: the token that runtime control (POST /backends/...) requires
  // (common/admin/admin_token.h), read from the file when the config is loaded: at start, by
  // --check and by every reload. Empty / nullopt: no token, control from loopback only.
  std::string admin_token_file;
  std::optional<std::string> admin_token;
  absl::Duration drain_timeout = absl::Seconds(30);
  uint32_t buffer_size = 16384;        // bytes per provided receive buffer, 1KiB..1MiB
  uint32_t buffers_per_worker = 4096;  // buffer ring entries: a power of two, 1..32768
  // A busy worker's wait for I/O returns at once at 32 completions, else this long after the
  // first (Linux >= 6.12; 0 = at the first); a lightly loaded one, or one relaying a bulk flow,
  // waits at most 20us (common/uring/batch_wait.h). Fewer wakeups per request under load for at
  // most this much added latency per event.
  uint32_t batch_wait_us = 300;  // 0..1000
  // Bulk flows (a receive filled a whole buffer) of plain TCP relays move by splice(2) through a
  // pipe of their own, socket -> pipe -> socket in the kernel, instead of being copied to
  // user-space buffers and back (l4/relay_connection.h). false: always the buffer path.
  bool splice = true;
  // Pipes open at once in the whole process (each is two file descriptors, counted against the
  // open-files limit with the sockets); a bulk flow that finds none free stays on buffers.
  uint32_t max_pipes = 1024;  // 0..1000000
  // A spliced direction's pipe (F_SETPIPE_SZ): what one splice moves at most, and what a stalled
  // bulk direction may hold in kernel memory. 64KiB..1MiB (above needs fs.pipe-max-size). 1MiB
  // took 8% less CPU per MiB than 256KiB, 64KiB 20% more (bench/compare 1mib).
  uint32_t splice_pipe_size = 256 * 1024;
  // [lb4.access_log]: one JSON line per connection (l4/connection_log.h); off when absent.
  log::AccessLogConfig access_log;
  AnnounceConfig announce;                // [lb4.announce]
  std::vector<ListenerConfig> listeners;  // at least one, in config order
  std::vector<PoolConfig> pools;          // in config order
  dns::DnsConfig dns;                     // [dns]: resolving named backends
  std::string source;                     // the file name (or source name) the config came from

  // The pool named `name`, or nullptr.
  const PoolConfig* FindPool(std::string_view name) const;
  // The listener named `name`, or nullptr.
  const ListenerConfig* FindListener(std::string_view name) const;
};

// Parses and validates edge.toml text. `source_name` is used in messages (usually the path).
// Errors are InvalidArgument; the message holds one "FILE:LINE:COL: ..." line per problem.
// Never throws; any input (including binary garbage) gives a config or an error.
absl::StatusOr<Lb4Config> ParseLb4Config(std::string_view toml_text, std::string_view source_name);

// Reads `path` and parses it: "cannot read PATH: REASON" when the file cannot be read.
absl::StatusOr<Lb4Config> LoadLb4Config(const std::string& path);

// The spellings used in the config file ("tcp", "v2", "maglev", "source_ip", "http", ...).
std::string_view ConfigName(ListenerMode mode);
std::string_view ConfigName(ProxyProtocolMode mode);
std::string_view ConfigName(BalanceKind kind);
std::string_view ConfigName(HashKey key);
std::string_view ConfigName(HealthConfig::Check check);

}  // namespace edge::l4
