#include "l4/config.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/admin/admin_token.h"
#include "common/config/errors.h"
#include "common/config/file.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"
#include "common/config/toml.h"
#include "common/config/units.h"
#include "common/status.h"

namespace edge::l4 {
namespace {

using config::ConfigErrors;
using config::EnumValue;
using config::Quote;
using config::TableReader;

constexpr EnumValue<ListenerMode> kListenerModes[] = {
    {"tcp", ListenerMode::kTcp},
    {"tls", ListenerMode::kTls},
    {"tls_passthrough", ListenerMode::kTlsPassthrough},
};
constexpr EnumValue<ProxyProtocolMode> kProxyProtocolModes[] = {
    {"off", ProxyProtocolMode::kOff},
    {"v1", ProxyProtocolMode::kV1},
    {"v2", ProxyProtocolMode::kV2},
};
constexpr EnumValue<BalanceKind> kBalanceKinds[] = {
    {"maglev", BalanceKind::kMaglev},
    {"round_robin", BalanceKind::kRoundRobin},
    {"least_conn", BalanceKind::kLeastConn},
    {"random_two", BalanceKind::kRandomTwo},
};
constexpr EnumValue<HashKey> kHashKeys[] = {
    {"source_ip", HashKey::kSourceIp},
    {"source_ip_port", HashKey::kSourceIpPort},
};

template <typename E, size_t N>
std::string_view NameOf(const EnumValue<E> (&values)[N], E value) {
  for (const EnumValue<E>& v : values) {
    if (v.value == value) return v.name;
  }
  return "unknown";
}

// Limits. Durations stay within a day so that every timeout fits comfortably in 32-bit
// milliseconds wherever a timer wheel stores it.
constexpr absl::Duration kMinDuration = absl::Milliseconds(1);
constexpr absl::Duration kMaxDuration = absl::Hours(24);
constexpr int kMaxWorkers = 1024;
constexpr int kMaxConnectRetries = 16;
constexpr uint32_t kMaxTableSize = 1u << 24;
constexpr uint64_t kMinBufferSize = 1024;
constexpr uint64_t kMaxBufferSize = 1u << 20;
constexpr uint64_t kMinPipeSize = 64 * 1024;      // a pipe's default: smaller ones would not pay
constexpr uint32_t kMaxBuffersPerWorker = 32768;  // io_uring buffer rings hold at most 2^15
constexpr size_t kMaxNamesListed = 10;

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

std::string Where(const ConfigErrors& errors, const toml::source_position& at) {
  return absl::StrFormat("%s:%u:%u", errors.source(), at.line, at.column);
}

// Where each named thing came from, for messages that relate two places of the file.
struct Origin {
  std::string context;
  toml::source_position name{};
  toml::source_position bind{};
  toml::source_position pool{};
  std::vector<toml::source_position> route_pools;  // one per SniRoute
};

// Reads the required "name" key. False (error recorded) when absent or malformed.
bool ReadName(TableReader& reader, std::string* name, Origin* origin) {
  origin->context = reader.context();
  origin->name = reader.PositionOf("name");
  return reader.ReadRequiredName("name", name);
}

// [lb4.announce]; its pools are checked against the pools in CrossCheck (pools_at: where).
void ReadAnnounce(TableReader& lb4, AnnounceConfig* out, toml::source_position* pools_at) {
  const toml::table* table = lb4.ReadTable("announce");
  if (table == nullptr) return;
  TableReader r(*table, lb4.errors(), lb4.context(), {"vips", "table", "pools", "drain_delay"},
                "announce.");
  std::vector<std::string> vips;
  if (r.Require("vips") && r.ReadStringArray("vips", &vips)) {
    if (vips.empty()) r.Error("vips", "must name at least one IP address");
    for (const std::string& text : vips) {
      auto vip = net::SocketAddress::ParseIp(text, 0);
      if (!vip.ok()) {
        r.Error("vips", absl::StrFormat("not an IP address: %s", Quote(text)));
        continue;
      }
      if (std::find(out->vips.begin(), out->vips.end(), *vip) != out->vips.end()) {
        r.Error("vips", absl::StrFormat("%s is listed twice", Quote(text)));
        continue;
      }
      out->vips.push_back(*vip);
    }
  }
  uint32_t number = 0;
  if (r.Require("table") && r.ReadInt("table", &number, 1u, 0xffffffffu)) {
    if (number >= 253 && number <= 255) {
      r.Error("table",
              absl::StrFormat("%d is the kernel's %s table: use a table of its own", number,
                              number == 253   ? "default"
                              : number == 254 ? "main"
                                              : "local"));
    } else {
      out->table = number;
    }
  }
  if (r.ReadStringArray("pools", &out->pools)) *pools_at = r.PositionOf("pools");
  r.ReadDuration("drain_delay", &out->drain_delay, absl::ZeroDuration(), absl::Minutes(10));
  if (!out->vips.empty() && out->table == 0) out->vips.clear();  // an error is recorded
}

void ReadLb4Section(const toml::table& table, ConfigErrors& errors, Lb4Config* config,
                    toml::source_position* admin_at, toml::source_position* announce_pools_at) {
  TableReader r(table, errors, "lb4",
                {"workers", "max_connections", "admin", "drain_timeout", "buffer_size",
                 "buffers_per_worker", "batch_wait_us", "splice", "max_pipes", "splice_pipe_size",
                 "access_log", "admin_token_file", "announce"});
  ReadAnnounce(r, &config->announce, announce_pools_at);
  r.ReadInt("workers", &config->workers, 0, kMaxWorkers);
  r.ReadInt("max_connections", &config->max_connections, uint64_t{1});
  net::SocketAddress admin;
  if (r.ReadAddress("admin", &admin)) {
    config->admin = admin;
    *admin_at = r.PositionOf("admin");
  }
  admin::ReadAdminTokenFile(r, &config->admin_token_file, &config->admin_token);
  r.ReadDuration("drain_timeout", &config->drain_timeout, kMinDuration, kMaxDuration);
  r.ReadInt("batch_wait_us", &config->batch_wait_us, 0u, 1000u);
  r.ReadBool("splice", &config->splice);
  r.ReadInt("max_pipes", &config->max_pipes, 0u, 1000000u);
  uint64_t pipe_size = 0;
  if (r.ReadSize("splice_pipe_size", &pipe_size, kMinPipeSize, kMaxBufferSize)) {
    config->splice_pipe_size = static_cast<uint32_t>(pipe_size);
  }
  log::ReadAccessLogConfig(r, "access_log", /*allow_redact=*/false, &config->access_log);
  uint64_t buffer_size = 0;
  if (r.ReadSize("buffer_size", &buffer_size, kMinBufferSize, kMaxBufferSize)) {
    config->buffer_size = static_cast<uint32_t>(buffer_size);
  }
  uint32_t buffers = 0;
  if (r.ReadInt("buffers_per_worker", &buffers, 1u, kMaxBuffersPerWorker)) {
    if ((buffers & (buffers - 1)) != 0) {
      uint32_t lower = 1;
      while (lower * 2 < buffers) lower *= 2;
      r.Error("buffers_per_worker",
              absl::StrFormat("must be a power of two (io_uring buffer ring entries), got %d "
                              "(nearest: %d, %d)",
                              buffers, lower, lower * 2));
    } else {
      config->buffers_per_worker = buffers;
    }
  }
}

void ReadHealth(const toml::table& table, ConfigErrors& errors, const std::string& context,
                HealthConfig* health) {
  TableReader r(table, errors, context,
                {"check", "path", "port", "interval", "timeout", "rise", "fall", "expect_status",
                 "passive_failures", "ejection_time", "max_ejection_time", "max_ejection_percent"},
                "health.");
  health::ReadActiveCheck(r, health);
  // Passive ejection is on by default only next to active checks (like Envoy's outlier
  // detection and HAProxy's observe, it is opt-in for a pool without checks).
  if (!r.Has("passive_failures") && health->check != HealthConfig::Check::kNone) {
    health->passive_failures = kDefaultPassiveFailures;
  }
  health::ReadEjection(r, health);
}

// backends[].srv = "_http._tcp.api.internal": the SRV records give ports and weights, so neither
// `address` nor `weight` may be given with it.
bool ReadSrvBackend(TableReader& r, std::optional<dns::DnsTarget>* named) {
  if (r.Has("address")) {
    r.Error("srv", "give either address or srv, not both");
    return false;
  }
  if (r.Has("weight")) {
    r.Error("weight", "not with srv: the SRV records give the weights");
    return false;
  }
  std::string text;
  if (!r.ReadString("srv", &text)) return false;
  absl::StatusOr<dns::DnsTarget> target = dns::ParseSrvTarget(text);
  if (!target.ok()) {
    r.Error("srv", std::string(target.status().message()));
    return false;
  }
  *named = *std::move(target);
  return true;
}

// backends[].address: "ip:port", or "host.name:port" (resolved through [dns]).
bool ReadBackendAddress(TableReader& r, net::SocketAddress* address,
                        std::optional<dns::DnsTarget>* named) {
  const toml::node* node = r.Get("address");
  if (node->as_string() == nullptr) return r.ReadAddress("address", address);  // the type error
  const std::string text = node->as_string()->get();
  absl::StatusOr<net::SocketAddress> parsed = net::SocketAddress::Parse(text);
  if (parsed.ok()) {
    *address = *parsed;
    return true;
  }
  absl::StatusOr<dns::DnsTarget> target = dns::ParseHostTarget(text);
  if (target.ok()) {
    *named = *std::move(target);
    return true;
  }
  // Text that looks like an address gets the address parser's message, anything else the name's.
  const bool has_letter =
      std::any_of(text.begin(), text.begin() + std::min(text.rfind(':'), text.size()),
                  [](char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); });
  r.Error("address",
          std::string(has_letter ? target.status().message() : parsed.status().message()));
  return false;
}

void ReadBackends(TableReader& pool_reader, PoolConfig* pool) {
  const toml::node* node = pool_reader.Get("backends");
  if (const toml::array* array = node->as_array(); array != nullptr && array->empty()) {
    pool_reader.Error("backends",
                      "must list at least one backend, e.g. [{ address = \"10.0.0.1:80\" }]");
    return;
  }
  std::unordered_map<std::string, size_t> seen;  // address -> index in the array
  for (const auto& [index, table] : pool_reader.ReadTables("backends")) {
    TableReader r(*table, pool_reader.errors(), pool_reader.context(),
                  {"address", "weight", "health_port", "srv"},
                  absl::StrFormat("backends[%d].", index));
    BackendConfig backend;
    std::optional<dns::DnsTarget> named;  // a host name or SRV name instead of an address
    bool ok = true;
    if (r.Has("srv")) {
      ok = ReadSrvBackend(r, &named);
    } else {
      ok = r.Require("address") && ReadBackendAddress(r, &backend.address, &named);
    }
    if (ok && !named && backend.address.port() == 0) {
      r.Error("address", absl::StrFormat("port 0 is not a valid backend port, got %s",
                                         Quote(backend.address.ToString())));
      ok = false;
    }
    if (ok) {
      const std::string key = named ? named->ToString() : backend.address.ToString();
      auto [it, inserted] = seen.emplace(key, index);
      if (!inserted) {
        r.Error(named && named->kind == dns::DnsTarget::Kind::kSrv ? "srv" : "address",
                absl::StrFormat("duplicate backend %s (also backends[%d])", it->first, it->second));
        ok = false;
      }
    }
    if (r.Has("weight") && !r.ReadInt("weight", &backend.weight, 1u, kMaxBackendWeight)) ok = false;
    if (r.Has("health_port") &&
        !r.ReadInt("health_port", &backend.health_port, uint16_t{1}, uint16_t{65535})) {
      ok = false;
    }
    if (!ok) continue;
    if (named) {
      pool->named_backends.push_back({*named, backend.weight, backend.health_port});
    } else {
      pool->backends.push_back(backend);
    }
  }
}

// A routes[].sni value: a host name or "*." + host name; lowercased.
bool ValidSniPattern(std::string_view sni) {
  if (sni.starts_with("*.")) sni.remove_prefix(2);
  if (sni.empty() || sni.size() > 253) return false;
  size_t label = 0;
  for (char c : sni) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label != 0;
}

// min_version = "1.2" | "1.3" (listener tls and [pool.tls]).
void ReadMinVersion(TableReader& r, int* min_version) {
  std::string version;
  if (!r.ReadString("min_version", &version)) return;
  if (version == "1.2") {
    *min_version = 0x0303;
  } else if (version == "1.3") {
    *min_version = 0x0304;
  } else {
    r.Error("min_version", absl::StrFormat("unknown value %s (1.2|1.3)", Quote(version)));
  }
}

// ALPN protocol names: 1-255 bytes each, no duplicates.
void ReadAlpn(TableReader& r, std::vector<std::string>* alpn) {
  if (!r.ReadStringArray("alpn", alpn)) return;
  std::unordered_map<std::string, int> seen;
  for (const std::string& p : *alpn) {
    if (p.empty() || p.size() > 255) {
      r.Error("alpn", absl::StrFormat("protocol names are 1-255 bytes, got %s", Quote(p)));
    } else if (seen[p]++ == 1) {
      r.Error("alpn", absl::StrFormat("duplicate protocol %s", Quote(p)));
    }
  }
}

// [pool.tls]. Like the listener's certificates, ca_file is only named here; BuildRuntime loads it.
void ReadPoolTls(const toml::table& table, ConfigErrors& errors, const std::string& context,
                 PoolTlsConfig* tls) {
  TableReader r(table, errors, context,
                {"enabled", "verify", "ca_file", "sni", "alpn", "min_version", "session_reuse"},
                "tls.");
  tls->enabled = true;
  r.ReadBool("enabled", &tls->enabled);
  r.ReadBool("verify", &tls->verify);
  r.ReadString("ca_file", &tls->ca_file);
  if (tls->enabled && tls->verify && tls->ca_file.empty()) {
    r.Error("ca_file",
            "required to verify the backends' certificates (or verify = false, explicitly, to "
            "accept any certificate)");
  }
  if (r.ReadString("sni", &tls->sni)) {
    for (char& c : tls->sni) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (tls->sni.starts_with("*.") || !ValidSniPattern(tls->sni)) {
      r.Error("sni", absl::StrFormat("must be a host name, got %s", Quote(tls->sni)));
    }
  }
  ReadAlpn(r, &tls->alpn);
  ReadMinVersion(r, &tls->min_version);
  r.ReadBool("session_reuse", &tls->session_reuse);
}

void ReadPool(const toml::table& table, size_t index, ConfigErrors& errors, PoolConfig* pool,
              Origin* origin) {
  TableReader r(table, errors, config::NamedTableContext("pool", index, table),
                {"name", "balance", "hash", "table_size", "connect_timeout", "connect_retries",
                 "backends", "health", "tls"});
  ReadName(r, &pool->name, origin);
  r.ReadEnum("balance", &pool->balancer.kind, kBalanceKinds);
  r.ReadEnum("hash", &pool->balancer.hash, kHashKeys);
  uint32_t table_size = 0;
  bool table_size_ok = !r.Has("table_size");
  if (r.ReadInt("table_size", &table_size, 2u, kMaxTableSize)) {
    if (IsPrime(table_size)) {
      pool->balancer.table_size = table_size;
      table_size_ok = true;
    } else {
      uint32_t below = table_size - 1, above = table_size + 1;
      while (!IsPrime(below)) --below;  // table_size >= 2 here, so 2 stops the search
      while (!IsPrime(above)) ++above;
      r.Error("table_size", absl::StrFormat("must be prime, got %d (nearest primes: %d, %d)",
                                            table_size, below, above));
    }
  }
  r.ReadDuration("connect_timeout", &pool->connect_timeout, kMinDuration, kMaxDuration);
  r.ReadInt("connect_retries", &pool->connect_retries, 0, kMaxConnectRetries);
  if (r.Require("backends")) ReadBackends(r, pool);
  if (const toml::table* health = r.ReadTable("health")) {
    ReadHealth(*health, errors, r.context(), &pool->health);
  }
  if (const toml::table* tls = r.ReadTable("tls")) {
    ReadPoolTls(*tls, errors, r.context(), &pool->tls);
  }
  if (table_size_ok && pool->balancer.kind == BalanceKind::kMaglev &&
      pool->balancer.table_size < pool->backends.size()) {
    r.Error("table_size",
            absl::StrFormat("must be at least the number of backends (%d) for maglev, got %d",
                            pool->backends.size(), pool->balancer.table_size));
  }
}

constexpr EnumValue<TlsListenerConfig::ClientAuth> kClientAuths[] = {
    {"none", TlsListenerConfig::ClientAuth::kNone},
    {"optional", TlsListenerConfig::ClientAuth::kOptional},
    {"required", TlsListenerConfig::ClientAuth::kRequired},
};

// The files are only named here; BuildRuntime loads them (and reports unreadable or mismatched
// ones), so that --check and a reload see the same errors.
void ReadTls(const toml::table& table, ConfigErrors& errors, const std::string& context,
             TlsListenerConfig* tls) {
  TableReader r(table, errors, context,
                {"certificates", "alpn", "min_version", "ciphers", "ciphersuites", "client_ca",
                 "client_auth", "session_tickets", "ticket_key_rotation"},
                "tls.");
  if (r.Require("certificates")) {
    for (const auto& [index, cert_table] : r.ReadTables("certificates")) {
      TableReader c(*cert_table, errors, context, {"cert", "key"},
                    absl::StrFormat("tls.certificates[%d].", index));
      TlsListenerConfig::Certificate cert;
      bool ok = c.Require("cert") && c.ReadString("cert", &cert.cert);
      ok = c.Require("key") && c.ReadString("key", &cert.key) && ok;
      if (ok) tls->certificates.push_back(std::move(cert));
    }
    if (tls->certificates.empty() && r.Get("certificates")->is_array() &&
        r.Get("certificates")->as_array()->empty()) {
      r.Error("certificates", "at least one { cert, key } is required");
    }
  }
  ReadAlpn(r, &tls->alpn);
  ReadMinVersion(r, &tls->min_version);
  r.ReadString("ciphers", &tls->ciphers);
  r.ReadString("ciphersuites", &tls->ciphersuites);
  r.ReadString("client_ca", &tls->client_ca);
  r.ReadEnum("client_auth", &tls->client_auth, kClientAuths);
  if (tls->client_auth != TlsListenerConfig::ClientAuth::kNone && tls->client_ca.empty()) {
    r.Error("client_auth", "needs client_ca (the CA that signs client certificates)");
  }
  if (!r.Has("client_auth") && r.Has("client_ca")) {
    tls->client_auth = TlsListenerConfig::ClientAuth::kRequired;  // a CA alone means mTLS
  }
  r.ReadBool("session_tickets", &tls->session_tickets);
  r.ReadDuration("ticket_key_rotation", &tls->ticket_key_rotation, absl::Minutes(1), kMaxDuration);
}

void ReadPassthroughKeys(TableReader& r, ListenerConfig* listener, Origin* origin) {
  const bool passthrough = listener->mode == ListenerMode::kTlsPassthrough;
  for (std::string_view key : {"routes", "max_client_hello"}) {
    if (r.Has(key) && !passthrough) r.Error(key, "only for mode = \"tls_passthrough\"");
  }
  uint64_t max_hello = 0;
  if (passthrough && r.ReadSize("max_client_hello", &max_hello, 1024, 65536)) {
    listener->max_client_hello = static_cast<uint32_t>(max_hello);
  }
  if (!passthrough) return;
  std::unordered_map<std::string, size_t> seen;
  for (const auto& [index, table] : r.ReadTables("routes")) {
    TableReader route(*table, r.errors(), r.context(), {"sni", "pool"},
                      absl::StrFormat("routes[%d].", index));
    SniRoute out;
    bool ok = route.Require("sni") && route.ReadString("sni", &out.sni);
    if (ok) {
      for (char& c : out.sni) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      if (!ValidSniPattern(out.sni)) {
        route.Error("sni", absl::StrFormat("must be a host name or \"*.\" + host name, got %s",
                                           Quote(out.sni)));
        ok = false;
      } else if (!seen.emplace(out.sni, index).second) {
        route.Error("sni", absl::StrFormat("duplicate route for %s", Quote(out.sni)));
        ok = false;
      }
    }
    ok = route.Require("pool") && route.ReadString("pool", &out.pool) && ok;
    if (!ok) continue;
    listener->routes.push_back(std::move(out));
    origin->route_pools.push_back(route.PositionOf("pool"));
  }
}

// allow / deny: arrays of CIDR strings ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7").
void ReadCidrs(TableReader& r, std::string_view key, std::vector<net::Cidr>* out) {
  const toml::array* array = r.ReadArray(key);
  if (array == nullptr) return;
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      r.ErrorAt(element, key,
                absl::StrFormat("must be CIDR strings such as \"10.0.0.0/8\", got %s",
                                config::TypeName(element)));
      continue;
    }
    absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(text->get());
    if (!cidr.ok()) {
      r.ErrorAt(element, key, std::string(cidr.status().message()));
      continue;
    }
    out->push_back(*cidr);
  }
}

constexpr uint32_t kMaxPerSource = 1000000;

void ReadProtection(TableReader& r, ListenerConfig* listener) {
  ReadCidrs(r, "allow", &listener->allow);
  ReadCidrs(r, "deny", &listener->deny);
  r.ReadInt("max_connections_per_source", &listener->max_connections_per_source, 1u, kMaxPerSource);
  if (const toml::table* rate = r.ReadTable("new_connections_per_source")) {
    TableReader b(*rate, r.errors(), r.context(), {"rate", "per", "burst"},
                  "new_connections_per_source.");
    SourceRateConfig& out = listener->new_connections_per_source;
    if (b.Require("rate") && b.ReadInt("rate", &out.rate, 1u, kMaxPerSource)) {
      out.burst = out.rate;
    }
    b.ReadDuration("per", &out.per, kMinDuration, kMaxDuration);
    uint32_t burst = 0;
    if (b.ReadInt("burst", &burst, 1u, kMaxPerSource)) out.burst = burst;
    if (out.rate == 0) out.burst = 0;  // an error was recorded: no half-configured bucket
  }
  if (r.ReadInt("source_table_size", &listener->source_table_size, 16u, 1u << 22) &&
      !listener->has_per_source_limits()) {
    r.Error("source_table_size",
            "only with max_connections_per_source or new_connections_per_source");
  }
}

void ReadListener(const toml::table& table, size_t index, ConfigErrors& errors,
                  ListenerConfig* listener, Origin* origin) {
  TableReader r(table, errors, config::NamedTableContext("listener", index, table),
                {"name", "bind", "mode", "pool", "proxy_protocol", "idle_timeout",
                 "handshake_timeout", "routes", "max_client_hello", "tls", "allow", "deny",
                 "max_connections_per_source", "new_connections_per_source", "source_table_size"});
  ReadName(r, &listener->name, origin);
  if (r.Require("bind")) {
    r.ReadAddress("bind", &listener->bind);
    origin->bind = r.PositionOf("bind");
  }
  r.ReadEnum("mode", &listener->mode, kListenerModes);
  if (r.Require("pool")) {
    r.ReadString("pool", &listener->pool);
    origin->pool = r.PositionOf("pool");
  }
  r.ReadEnum("proxy_protocol", &listener->proxy_protocol, kProxyProtocolModes);
  r.ReadDuration("idle_timeout", &listener->idle_timeout, kMinDuration, kMaxDuration);
  r.ReadDuration("handshake_timeout", &listener->handshake_timeout, kMinDuration, kMaxDuration);
  ReadPassthroughKeys(r, listener, origin);
  ReadProtection(r, listener);
  if (listener->mode == ListenerMode::kTls) {
    if (r.Require("tls")) {
      if (const toml::table* tls = r.ReadTable("tls")) {
        ReadTls(*tls, r.errors(), r.context(), &listener->tls);
      }
    }
  } else if (r.Has("tls")) {
    r.Error("tls", "only for mode = \"tls\"");
  }
}

std::string ListNames(const std::vector<PoolConfig>& pools) {
  std::string out;
  size_t listed = 0;
  for (const PoolConfig& pool : pools) {
    if (pool.name.empty()) continue;
    if (listed == kMaxNamesListed) {
      out += ", ...";
      break;
    }
    if (listed++ > 0) out += ", ";
    out += pool.name;
  }
  return out;
}

// Checks that relate several tables: unique names, pool references, bind collisions.
void CrossCheck(const Lb4Config& config, const std::vector<Origin>& pool_origins,
                const std::vector<Origin>& listener_origins, const toml::source_position& admin_at,
                ConfigErrors& errors) {
  std::unordered_map<std::string_view, size_t> pool_by_name;
  for (size_t i = 0; i < config.pools.size(); ++i) {
    const std::string& name = config.pools[i].name;
    if (name.empty()) continue;
    auto [it, inserted] = pool_by_name.emplace(name, i);
    if (!inserted) {
      errors.Add(pool_origins[i].name, pool_origins[i].context, "name",
                 absl::StrFormat("duplicate pool name, first defined at %s",
                                 Where(errors, pool_origins[it->second].name)));
    }
  }

  std::unordered_map<std::string_view, size_t> listener_by_name;
  // Bind address -> who uses it. Port 0 asks the kernel for a free port, so it never collides.
  std::unordered_map<std::string, std::string> binds;
  if (config.admin && config.admin->port() != 0) {
    binds.emplace(config.admin->ToString(),
                  absl::StrFormat("lb4.admin at %s", Where(errors, admin_at)));
  }
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    const Origin& origin = listener_origins[i];
    if (!listener.name.empty()) {
      auto [it, inserted] = listener_by_name.emplace(listener.name, i);
      if (!inserted) {
        errors.Add(origin.name, origin.context, "name",
                   absl::StrFormat("duplicate listener name, first defined at %s",
                                   Where(errors, listener_origins[it->second].name)));
      }
    }
    if (listener.bind.valid() && listener.bind.port() != 0) {
      auto [it, inserted] =
          binds.emplace(listener.bind.ToString(),
                        absl::StrFormat("%s at %s", origin.context, Where(errors, origin.bind)));
      if (!inserted) {
        errors.Add(origin.bind, origin.context, "bind",
                   absl::StrFormat("address %s is already used by %s", it->first, it->second));
      }
    }
    if (origin.pool.line != 0 && !pool_by_name.contains(listener.pool)) {
      const std::string defined = ListNames(config.pools);
      errors.Add(origin.pool, origin.context, "pool",
                 absl::StrFormat("unknown pool %s (%s)", Quote(listener.pool),
                                 defined.empty() ? std::string("no [[pool]] is defined")
                                                 : "defined: " + defined));
    }
    for (size_t j = 0; j < listener.routes.size(); ++j) {
      if (pool_by_name.contains(listener.routes[j].pool)) continue;
      const std::string defined = ListNames(config.pools);
      errors.Add(origin.route_pools[j], origin.context, absl::StrFormat("routes[%d].pool", j),
                 absl::StrFormat("unknown pool %s (%s)", Quote(listener.routes[j].pool),
                                 defined.empty() ? std::string("no [[pool]] is defined")
                                                 : "defined: " + defined));
    }
  }
}

}  // namespace

net::SocketAddress HealthCheckAddress(const BackendConfig& backend, const HealthConfig& health) {
  net::SocketAddress address = backend.address;
  if (backend.health_port != 0) {
    address.set_port(backend.health_port);
  } else if (health.port != 0) {
    address.set_port(health.port);
  }
  return address;
}

const PoolConfig* Lb4Config::FindPool(std::string_view name) const {
  for (const PoolConfig& pool : pools) {
    if (pool.name == name) return &pool;
  }
  return nullptr;
}

const ListenerConfig* Lb4Config::FindListener(std::string_view name) const {
  for (const ListenerConfig& listener : listeners) {
    if (listener.name == name) return &listener;
  }
  return nullptr;
}

absl::StatusOr<Lb4Config> ParseLb4Config(std::string_view toml_text, std::string_view source_name) {
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(toml_text, source_name));
  ConfigErrors errors{std::string(source_name)};
  Lb4Config config;
  config.source = std::string(source_name);

  TableReader top(root, errors, "", {"lb4", "listener", "pool", "dns"});
  toml::source_position admin_at{};
  toml::source_position announce_pools_at{};
  if (const toml::table* lb4 = top.ReadTable("lb4")) {
    ReadLb4Section(*lb4, errors, &config, &admin_at, &announce_pools_at);
  }

  if (const toml::table* dns = top.ReadTable("dns")) dns::ReadDnsConfig(*dns, errors, &config.dns);

  std::vector<Origin> pool_origins;
  for (const auto& [index, table] : top.ReadTables("pool")) {
    ReadPool(*table, index, errors, &config.pools.emplace_back(), &pool_origins.emplace_back());
  }

  std::vector<Origin> listener_origins;
  const toml::node* listeners = top.Get("listener");
  if (listeners == nullptr || (listeners->is_array() && listeners->as_array()->empty())) {
    top.Error("listener", "at least one [[listener]] is required");
  }
  for (const auto& [index, table] : top.ReadTables("listener")) {
    ReadListener(*table, index, errors, &config.listeners.emplace_back(),
                 &listener_origins.emplace_back());
  }

  CrossCheck(config, pool_origins, listener_origins, admin_at, errors);
  for (const std::string& pool : config.announce.pools) {
    if (config.FindPool(pool) == nullptr) {
      errors.Add(
          announce_pools_at, "lb4", "announce.pools",
          absl::StrFormat("unknown pool %s (defined: %s)", Quote(pool), ListNames(config.pools)));
    }
  }
  RETURN_IF_ERROR(errors.ToStatus());
  return config;
}

absl::StatusOr<Lb4Config> LoadLb4Config(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(path));
  return ParseLb4Config(text, path);
}

std::string_view ConfigName(ListenerMode mode) { return NameOf(kListenerModes, mode); }
std::string_view ConfigName(ProxyProtocolMode mode) { return NameOf(kProxyProtocolModes, mode); }
std::string_view ConfigName(BalanceKind kind) { return NameOf(kBalanceKinds, kind); }
std::string_view ConfigName(HashKey key) { return NameOf(kHashKeys, key); }
std::string_view ConfigName(HealthConfig::Check check) { return health::CheckKindName(check); }

}  // namespace edge::l4
