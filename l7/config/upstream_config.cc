#include "l7/config/upstream_config.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"
#include "common/config/units.h"

namespace edge::l7 {
namespace config_internal {
namespace {

using config::ConfigErrors;
using config::EnumValue;
using config::Quote;
using config::TableReader;

constexpr EnumValue<UpstreamBalance> kBalances[] = {
    {"round_robin", UpstreamBalance::kRoundRobin},
    {"least_request", UpstreamBalance::kLeastRequest},
    {"p2c_ewma", UpstreamBalance::kP2cEwma},
    {"maglev", UpstreamBalance::kMaglev},
};

constexpr EnumValue<UpstreamProtocol> kProtocols[] = {
    {"http1", UpstreamProtocol::kHttp1},
    {"h2c", UpstreamProtocol::kH2c},
    {"h2", UpstreamProtocol::kH2},
};

constexpr int kMaxRetries = 10;
constexpr uint32_t kMaxIdlePerServer = 65536;
constexpr uint32_t kMaxH2Connections = 64;
constexpr size_t kMaxServers = 4096;

void ReadUpstreamHealth(const toml::table& table, ConfigErrors& errors, const std::string& context,
                        UpstreamHealthConfig* health) {
  TableReader r(table, errors, context,
                {"check", "path", "port", "interval", "timeout", "rise", "fall", "expect_status"},
                "health.");
  health::ReadActiveCheck(r, health);
  health->enabled = health->check != UpstreamHealthConfig::Check::kNone;
}

// tls = { ca_file = "ca.pem", server_name = "api.internal", verify = true }: only with protocol =
// "h2", which needs it unless verify = false (a server's certificate unchecked must be said).
void ReadUpstreamTls(TableReader& r, const toml::table& table, UpstreamConfig* upstream) {
  const toml::table* tls = table.contains("tls") ? r.ReadTable("tls") : nullptr;
  if (upstream->protocol != UpstreamProtocol::kH2) {
    if (table.contains("tls")) r.Error("tls", "is used only by protocol = \"h2\"");
    return;
  }
  if (tls == nullptr) {
    if (!table.contains("tls")) {
      r.Error("protocol", "\"h2\" needs tls = { ca_file = \"...\" } (or verify = false)");
    }
    return;
  }
  TableReader t(*tls, r.errors(), r.context(), {"ca_file", "server_name", "verify"}, "tls.");
  t.ReadBool("verify", &upstream->tls.verify);
  t.ReadString("ca_file", &upstream->tls.ca_file);
  t.ReadString("server_name", &upstream->tls.server_name);
  if (upstream->tls.verify && upstream->tls.ca_file.empty()) {
    t.Error("ca_file", "is required when verify is true (the CA that signed the servers)");
  }
}

// servers = ["127.0.0.1:9101", { address = "127.0.0.1:9102", weight = 3 }]
void ReadServers(TableReader& r, UpstreamConfig* upstream) {
  const toml::array* array = r.ReadArray("servers");
  if (array == nullptr) return;
  if (array->empty()) {
    r.Error("servers", "must list at least one server, e.g. [\"127.0.0.1:9101\"]");
    return;
  }
  if (array->size() > kMaxServers) {
    r.Error("servers", absl::StrFormat("at most %d servers, got %d", kMaxServers, array->size()));
    return;
  }
  std::unordered_map<std::string, size_t> seen;  // address -> index in the array
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string key = absl::StrFormat("servers[%d]", i);
    std::string text;
    uint32_t weight = 1;
    const toml::node* address_node = &element;
    std::optional<dns::DnsTarget> named;  // a host name or SRV name instead of an address
    if (const auto* s = element.as_string()) {
      text = s->get();
    } else if (const toml::table* t = element.as_table()) {
      TableReader st(*t, r.errors(), r.context(), {"address", "weight", "srv"}, key + ".");
      if (st.Has("srv")) {
        // SRV records give ports and weights: neither address nor weight goes with srv.
        if (st.Has("address") || st.Has("weight")) {
          st.Error(st.Has("address") ? "address" : "weight",
                   "not with srv: the SRV records give the servers' ports and weights");
          continue;
        }
        if (!st.ReadString("srv", &text)) continue;
        absl::StatusOr<dns::DnsTarget> target = dns::ParseSrvTarget(text);
        if (!target.ok()) {
          st.Error("srv", std::string(target.status().message()));
          continue;
        }
        named = *std::move(target);
        address_node = st.Get("srv");
      } else {
        if (!st.Require("address") || !st.ReadString("address", &text)) continue;
        address_node = st.Get("address");
      }
      if (st.Has("weight") && !st.ReadInt("weight", &weight, 1u, kMaxServerWeight)) continue;
    } else {
      r.errors().Add(element, r.context(), key,
                     absl::StrFormat("expected \"host:port\" or { address = \"host:port\", weight "
                                     "= N }, got %s",
                                     config::TypeName(element)));
      continue;
    }
    absl::StatusOr<net::SocketAddress> address = net::SocketAddress::Parse(text);
    if (!named && !address.ok()) {
      // Not an address: a host name ("api.internal:9101") resolved through [dns].
      absl::StatusOr<dns::DnsTarget> target = dns::ParseHostTarget(text);
      if (target.ok()) {
        named = *std::move(target);
      } else {
        const bool has_letter =
            std::any_of(text.begin(), text.begin() + std::min(text.rfind(':'), text.size()),
                        [](char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); });
        r.errors().Add(
            *address_node, r.context(), key,
            std::string(has_letter ? target.status().message() : address.status().message()));
        continue;
      }
    }
    if (named) {
      auto [it, inserted] = seen.emplace(named->ToString(), i);
      if (!inserted) {
        r.errors().Add(
            *address_node, r.context(), key,
            absl::StrFormat("duplicate server %s (also servers[%d])", it->first, it->second));
        continue;
      }
      upstream->named_servers.push_back({*std::move(named), weight});
      continue;
    }
    if (address->port() == 0) {
      r.errors().Add(*address_node, r.context(), key,
                     absl::StrFormat("port 0 is not a valid server port, got %s", Quote(text)));
      continue;
    }
    auto [it, inserted] = seen.emplace(address->ToString(), i);
    if (!inserted) {
      r.errors().Add(
          *address_node, r.context(), key,
          absl::StrFormat("duplicate server %s (also servers[%d])", it->first, it->second));
      continue;
    }
    upstream->servers.push_back(*address);
    upstream->weights.push_back(weight);
  }
}

void ReadHashOn(TableReader& r, UpstreamConfig* upstream) {
  std::string hash_on;
  if (!r.ReadString("hash_on", &hash_on)) return;
  constexpr std::string_view kAllowed = "(client_ip|header:NAME|cookie:NAME)";
  bool ok = hash_on == "client_ip";
  if (!ok && (hash_on.starts_with("header:") || hash_on.starts_with("cookie:"))) {
    const std::string_view name = std::string_view(hash_on).substr(7);
    ok = IsToken(name);
    if (ok && hash_on.starts_with("header:")) hash_on = "header:" + Lower(name);
  }
  if (!ok) {
    r.Error("hash_on", absl::StrFormat("unknown value %s %s", Quote(hash_on), kAllowed));
    return;
  }
  if (upstream->balance != UpstreamBalance::kMaglev) {
    r.Error("hash_on", absl::StrFormat("is used only by balance = \"maglev\", not %s",
                                       Quote(ConfigName(upstream->balance))));
    return;
  }
  upstream->hash_on = std::move(hash_on);
}

}  // namespace

void ReadUpstream(const toml::table& table, size_t index, ConfigErrors& errors,
                  UpstreamConfig* upstream, Origin* origin) {
  TableReader r(table, errors, config::NamedTableContext("upstream", index, table),
                {"name", "balance", "hash_on", "servers", "connect_timeout", "request_timeout",
                 "retries", "max_idle_per_server", "passive_failures", "ejection_time",
                 "max_ejection_time", "max_ejection_percent", "panic_threshold", "health",
                 "protocol", "h2_max_connections", "tls"});
  ReadName(r, &upstream->name, origin);
  r.ReadEnum("balance", &upstream->balance, kBalances);
  ReadHashOn(r, upstream);
  if (r.Require("servers")) ReadServers(r, upstream);
  r.ReadDuration("connect_timeout", &upstream->connect_timeout, kMinDuration, kMaxDuration);
  r.ReadDuration("request_timeout", &upstream->request_timeout, kMinDuration, kMaxDuration);
  r.ReadInt("retries", &upstream->retries, 0, kMaxRetries);
  r.ReadInt("max_idle_per_server", &upstream->max_idle_per_server, 0u, kMaxIdlePerServer);
  health::ReadEjection(r, upstream, /*cap_follows_base=*/true);
  r.ReadInt("panic_threshold", &upstream->panic_threshold, 0, 100);
  if (const toml::table* health = r.ReadTable("health")) {
    ReadUpstreamHealth(*health, errors, r.context(), &upstream->health);
  }
  r.ReadEnum("protocol", &upstream->protocol, kProtocols);
  if (table.contains("h2_max_connections") && upstream->protocol == UpstreamProtocol::kHttp1) {
    r.Error("h2_max_connections", "is used only by protocol = \"h2c\" or \"h2\"");
  }
  r.ReadInt("h2_max_connections", &upstream->h2_max_connections, 1u, kMaxH2Connections);
  ReadUpstreamTls(r, table, upstream);
  // Active checks speak plain HTTP/1.1 or just connect: against a TLS port an http check could
  // never pass, and every server would be down.
  if (upstream->protocol == UpstreamProtocol::kH2 && upstream->health.enabled &&
      upstream->health.check == UpstreamHealthConfig::Check::kHttp && upstream->health.port == 0) {
    r.Error("health",
            "an http check of a TLS (protocol = \"h2\") server needs port = N (a plain "
            "HTTP health port), or check = \"tcp\"");
  }
}

}  // namespace config_internal

using config_internal::kBalances;
using config_internal::kProtocols;

std::string_view ConfigName(UpstreamBalance balance) {
  for (const config::EnumValue<UpstreamBalance>& v : kBalances) {
    if (v.value == balance) return v.name;
  }
  return "unknown";
}

std::string_view ConfigName(UpstreamProtocol protocol) {
  for (const config::EnumValue<UpstreamProtocol>& v : kProtocols) {
    if (v.value == protocol) return v.name;
  }
  return "unknown";
}

}  // namespace edge::l7
