#include "l7/config/gateway_config.h"

#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/admin/admin_token.h"
#include "common/config/errors.h"
#include "common/config/file.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"
#include "common/config/units.h"
#include "common/status.h"
#include "l7/config/config_reading.h"
#include "l7/config/upstream_config.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::EnumValue;
using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
using config::TableReader;
using config_internal::IsToken;
using config_internal::kMaxDuration;
using config_internal::kMinDuration;
using config_internal::Lower;
using config_internal::Origin;
using config_internal::ReadName;
using config_internal::ReadUpstream;

constexpr EnumValue<EscapedSlashes> kEscapedSlashes[] = {
    {"reject", EscapedSlashes::kReject},
    {"keep", EscapedSlashes::kKeep},
};
constexpr EnumValue<PathParameters> kPathParameters[] = {
    {"reject", PathParameters::kReject},
    {"strip", PathParameters::kStrip},
};

constexpr size_t kMaxNamesListed = 10;
// A header block below 1 KiB cannot hold an ordinary browser request; above 1 MiB it is a memory
// attack surface, not a use case.
constexpr uint64_t kMinHeaderBytes = 1024;
constexpr uint64_t kMaxHeaderBytes = 1 << 20;
constexpr uint64_t kMinUriBytes = 64;
constexpr uint64_t kMaxBodyBytes = uint64_t{1} << 50;

// A header value we are willing to send: visible ASCII, spaces and tabs inside, nothing that could
// end the line or the header (CR, LF, NUL and other controls).
bool IsSafeHeaderValue(std::string_view s) {
  if (s.size() > 4096) return false;
  if (!s.empty() &&
      (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u != 0x7f) || u == '\t';
  });
}

// A path as it may appear in a request line: starts with '/', visible ASCII only, no query or
// fragment (routes match the path alone).
bool IsRequestPath(std::string_view s) {
  if (s.empty() || s.front() != '/' || s.size() > 4096) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != '?' && c != '#'; });
}

// A host name label set: letters, digits, '-', '_' and '.', no empty labels.
bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

std::string Where(const ConfigErrors& errors, const toml::source_position& at) {
  return absl::StrFormat("%s:%u:%u", errors.source(), at.line, at.column);
}

// proxy_protocol = "required" | "optional" | "off", or the older true ("optional") / false.
void ReadProxyProtocol(TableReader& r, ProxyProtocolPolicy* out) {
  const toml::node* node = r.Get("proxy_protocol");
  if (node == nullptr) return;
  if (const auto* b = node->as_boolean()) {
    *out = b->get() ? ProxyProtocolPolicy::kOptional : ProxyProtocolPolicy::kOff;
    return;
  }
  r.ReadEnum("proxy_protocol", out,
             {{"off", ProxyProtocolPolicy::kOff},
              {"optional", ProxyProtocolPolicy::kOptional},
              {"required", ProxyProtocolPolicy::kRequired}});
}

// internal_headers = ["X-Internal-Token", ...]: field names (tokens), at most 256.
void ReadInternalHeaders(TableReader& r, std::vector<std::string>* out) {
  if (!r.ReadStringArray("internal_headers", out)) return;
  if (out->size() > 256) r.Error("internal_headers", "at most 256 names");
  for (const std::string& name : *out) {
    if (!IsToken(name)) {
      r.Error("internal_headers", absl::StrFormat("not a valid header name: %s", Quote(name)));
    }
  }
}

void ReadGw7Section(const toml::table& table, ConfigErrors& errors, GatewayConfig* config) {
  TableReader r(table, errors, "gw7",
                {"listen", "admin", "proxy_protocol", "trusted_proxies", "drain_timeout",
                 "batch_wait_us", "limits", "internal_headers", "max_connections",
                 "escaped_slashes", "merge_slashes", "path_parameters", "drain_delay", "access_log",
                 "http2", "keep_method_override", "admin_token_file"});
  if (r.Require("listen")) r.ReadAddress("listen", &config->listen);
  net::SocketAddress admin;
  if (r.ReadAddress("admin", &admin)) {
    if (config->listen.valid() && admin == config->listen && admin.port() != 0) {
      r.Error("admin",
              absl::StrFormat("address %s is already used by gw7.listen", admin.ToString()));
    } else {
      config->admin = admin;
    }
  }
  admin::ReadAdminTokenFile(r, &config->admin_token_file, &config->admin_token);
  ReadProxyProtocol(r, &config->proxy_protocol);
  std::vector<std::string> proxies;
  if (r.ReadStringArray("trusted_proxies", &proxies)) {
    const toml::array* array = r.Get("trusted_proxies")->as_array();
    for (size_t i = 0; i < proxies.size(); ++i) {
      absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(proxies[i]);
      if (cidr.ok()) {
        config->trusted_proxies.push_back(*cidr);
      } else {
        errors.Add(*array->get(i), r.context(), absl::StrFormat("trusted_proxies[%d]", i),
                   std::string(cidr.status().message()));
      }
    }
  }
  if (config->proxy_protocol != ProxyProtocolPolicy::kOff && config->trusted_proxies.empty() &&
      !r.Has("trusted_proxies")) {
    r.Error("proxy_protocol",
            "true requires trusted_proxies (the networks allowed to send a PROXY header), e.g. "
            "[\"127.0.0.0/8\"]");
  }
  ReadInternalHeaders(r, &config->internal_headers);
  r.ReadBool("keep_method_override", &config->keep_method_override);
  r.ReadDuration("drain_timeout", &config->drain_timeout, kMinDuration, kMaxDuration);
  r.ReadDuration("drain_delay", &config->drain_delay, absl::ZeroDuration(), absl::Hours(1));
  r.ReadInt("batch_wait_us", &config->batch_wait_us, 0u, 1000u);
  r.ReadInt("max_connections", &config->max_connections, 0u, 16'000'000u);
  r.ReadEnum("escaped_slashes", &config->path_normalization.escaped_slashes, kEscapedSlashes);
  r.ReadBool("merge_slashes", &config->path_normalization.merge_slashes);
  r.ReadEnum("path_parameters", &config->path_normalization.path_parameters, kPathParameters);
  log::ReadAccessLogConfig(r, "access_log", /*allow_redact=*/true, &config->access_log);

  // TOML cannot have both `http2 = true` and a [gw7.http2] table: `http2` is either the switch
  // alone or the table, which turns HTTP/2 on unless it says enabled = false.
  if (const toml::node* http2_node = r.Get("http2");
      http2_node != nullptr && http2_node->is_table()) {
    const toml::table* http2 = r.ReadTable("http2");
    TableReader h(*http2, errors, "gw7", {"enabled", "max_concurrent_streams"}, "http2.");
    config->http2 = true;
    h.ReadBool("enabled", &config->http2);
    h.ReadInt("max_concurrent_streams", &config->http2_limits.max_concurrent_streams, 1u, 10000u);
  } else {
    r.ReadBool("http2", &config->http2);
  }
  if (const toml::table* limits = r.ReadTable("limits")) {
    TableReader l(*limits, errors, "gw7",
                  {"max_header_bytes", "max_body_bytes", "max_uri_bytes", "header_timeout",
                   "idle_timeout", "send_timeout"},
                  "limits.");
    LimitsConfig& out = config->limits;
    l.ReadSize("max_header_bytes", &out.max_header_bytes, kMinHeaderBytes, kMaxHeaderBytes);
    l.ReadSize("max_body_bytes", &out.max_body_bytes, 0, kMaxBodyBytes);
    if (l.ReadSize("max_uri_bytes", &out.max_uri_bytes, kMinUriBytes, kMaxHeaderBytes) &&
        out.max_uri_bytes > out.max_header_bytes) {
      l.Error("max_uri_bytes",
              absl::StrFormat("must not exceed max_header_bytes (%s; the request line is part of "
                              "the header block), got %s",
                              config::SizeToString(out.max_header_bytes),
                              config::SizeToString(out.max_uri_bytes)));
    }
    l.ReadDuration("header_timeout", &out.header_timeout, kMinDuration, kMaxDuration);
    l.ReadDuration("idle_timeout", &out.idle_timeout, kMinDuration, kMaxDuration);
    l.ReadDuration("send_timeout", &out.send_timeout, kMinDuration, kMaxDuration);
  }
}

// Reads exactly one of path | path_prefix | path_template | path_regex.
void ReadPathMatch(TableReader& r, RouteConfig* route) {
  struct Kind {
    std::string_view key;
    PathMatch kind;
  };
  constexpr Kind kKinds[] = {{"path", PathMatch::kExact},
                             {"path_prefix", PathMatch::kPrefix},
                             {"path_template", PathMatch::kTemplate},
                             {"path_regex", PathMatch::kRegex}};
  std::string_view first;
  for (const Kind& k : kKinds) {
    if (!r.Has(k.key)) continue;
    if (!first.empty()) {
      r.Error(k.key, absl::StrFormat("conflicts with %s: a route has at most one of path, "
                                     "path_prefix, path_template, path_regex",
                                     first));
      continue;
    }
    first = k.key;
    std::string value;
    if (!r.ReadString(k.key, &value)) continue;
    switch (k.kind) {
      case PathMatch::kExact:
      case PathMatch::kPrefix:
        if (!IsRequestPath(value)) {
          r.Error(k.key, absl::StrFormat("must start with '/' and hold only visible ASCII without "
                                         "'?' or '#', got %s",
                                         Quote(value)));
          continue;
        }
        break;
      case PathMatch::kTemplate:
        if (absl::Status s = ValidatePathTemplate(value); !s.ok()) {
          r.Error(k.key, std::string(s.message()));
          continue;
        }
        break;
      case PathMatch::kRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        RE2 re(value, options);
        if (!re.ok()) {
          r.Error(k.key, absl::StrFormat("invalid RE2 regex %s: %s", Quote(value), re.error()));
          continue;
        }
        break;
      }
      case PathMatch::kAny:
        break;
    }
    route->path_kind = k.kind;
    route->path = std::move(value);
  }
}

void ReadMethods(TableReader& r, RouteConfig* route) {
  std::vector<std::string> methods;
  if (!r.ReadStringArray("methods", &methods)) return;
  const toml::array* array = r.Get("methods")->as_array();
  if (methods.empty()) {
    r.Error("methods", "must not be empty (leave methods out to allow any method)");
    return;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < methods.size(); ++i) {
    const std::string key = absl::StrFormat("methods[%d]", i);
    if (!IsToken(methods[i])) {
      r.errors().Add(*array->get(i), r.context(), key,
                     absl::StrFormat("not a valid HTTP method token: %s", Quote(methods[i])));
      continue;
    }
    std::string upper = methods[i];
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    if (!seen.insert(upper).second) {
      r.errors().Add(*array->get(i), r.context(), key,
                     absl::StrFormat("duplicate method %s", Quote(upper)));
      continue;
    }
    route->methods.push_back(std::move(upper));
  }
}

// headers = [{ name = "X-Tenant", value = "acme" }, { name = "X-Debug" }]
void ReadHeaderMatches(TableReader& r, RouteConfig* route) {
  for (const auto& [index, table] : r.ReadTables("headers")) {
    const std::string prefix = absl::StrFormat("headers[%d].", index);
    TableReader h(*table, r.errors(), r.context(), {"name", "value"}, prefix);
    HeaderMatch match;
    std::string name;
    if (!h.Require("name") || !h.ReadString("name", &name)) continue;
    if (!IsToken(name)) {
      h.Error("name", absl::StrFormat("not a valid header name: %s", Quote(name)));
      continue;
    }
    match.name = Lower(name);
    std::string value;
    if (h.ReadString("value", &value)) {
      if (!IsSafeHeaderValue(value)) {
        h.Error("value", absl::StrFormat("must be printable ASCII without leading or trailing "
                                         "blanks, got %s",
                                         Quote(value)));
        continue;
      }
      match.value = std::move(value);
    } else if (h.Has("value")) {
      continue;
    }
    route->headers.push_back(std::move(match));
  }
}

// A table of string values: { NAME = "value", ... } in the file's key order (toml++ keeps keys
// sorted, which makes the order deterministic).
void ReadStringPairs(TableReader& r, std::string_view key, bool names_are_headers,
                     std::vector<std::pair<std::string, std::string>>* out) {
  const toml::table* table = r.ReadTable(key);
  if (table == nullptr) return;
  for (const auto& [name, node] : *table) {
    const std::string display = absl::StrFormat("%s.%s", key, std::string_view(name.str()));
    const auto* value = node.as_string();
    if (value == nullptr) {
      r.errors().Add(node, r.context(), display,
                     absl::StrFormat("expected a string, got %s", config::TypeName(node)));
      continue;
    }
    if (names_are_headers && !IsToken(name.str())) {
      r.errors().Add(node, r.context(), display,
                     absl::StrFormat("not a valid header name: %s", Quote(name.str())));
      continue;
    }
    if (!IsSafeHeaderValue(value->get())) {
      r.errors().Add(node, r.context(), display,
                     absl::StrFormat("must be printable ASCII without leading or trailing blanks, "
                                     "got %s",
                                     Quote(value->get())));
      continue;
    }
    out->emplace_back(std::string(name.str()), value->get());
  }
}

void ReadRewrites(TableReader& r, RouteConfig* route) {
  if (r.ReadString("strip_prefix", &route->strip_prefix)) {
    const std::string& strip = route->strip_prefix;
    if (!IsRequestPath(strip) || strip == "/" || strip.back() == '/') {
      r.Error("strip_prefix",
              absl::StrFormat("must start with '/', not end with '/', and hold only "
                              "visible ASCII without '?' or '#', got %s",
                              Quote(strip)));
      route->strip_prefix.clear();
    } else if ((route->path_kind == PathMatch::kExact || route->path_kind == PathMatch::kPrefix) &&
               !(route->path.starts_with(strip) &&
                 (route->path.size() == strip.size() || route->path[strip.size()] == '/'))) {
      r.Error("strip_prefix",
              absl::StrFormat("%s is not a leading part of %s %s, so it would never apply",
                              Quote(strip),
                              route->path_kind == PathMatch::kExact ? "path" : "path_prefix",
                              Quote(route->path)));
      route->strip_prefix.clear();
    }
  }
  if (r.ReadString("prefix_rewrite", &route->prefix_rewrite)) {
    if (!IsRequestPath(route->prefix_rewrite)) {
      r.Error("prefix_rewrite",
              absl::StrFormat("must start with '/' and hold only visible ASCII without '?' or "
                              "'#', got %s",
                              Quote(route->prefix_rewrite)));
      route->prefix_rewrite.clear();
    } else if (route->path_kind != PathMatch::kPrefix) {
      r.Error("prefix_rewrite", "needs path_prefix (it replaces the matched prefix)");
      route->prefix_rewrite.clear();
    } else if (r.Has("strip_prefix")) {
      r.Error("prefix_rewrite", "conflicts with strip_prefix (use one of them)");
      route->prefix_rewrite.clear();
    }
  }
}

void ReadRoute(const toml::table& table, size_t index, ConfigErrors& errors, RouteConfig* route,
               Origin* origin) {
  TableReader r(table, errors, config::NamedTableContext("route", index, table),
                {"name",
                 "host",
                 "path",
                 "path_prefix",
                 "path_template",
                 "path_regex",
                 "methods",
                 "headers",
                 "upstream",
                 "strip_prefix",
                 "prefix_rewrite",
                 "auth",
                 "require_scopes",
                 "require_claims",
                 "rate_limit",
                 "concurrency_limit",
                 "add_request_headers",
                 "allow_h2c_upgrade",
                 "case_insensitive",
                 "access_log_sample",
                 "cache",
                 "cache_set_cookie",
                 "request_headers",
                 "response_headers",
                 "cors",
                 "compress",
                 "compress_min_bytes",
                 "compress_brotli",
                 "soap",
                 "aggregate",
                 "merge",
                 "aggregate_timeout",
                 "max_part_bytes"});
  ReadName(r, &route->name, origin);
  std::string host;
  if (r.ReadString("host", &host)) {
    const std::string lower = Lower(host);
    const bool wildcard = lower.starts_with("*.");
    if (IsHostName(wildcard ? std::string_view(lower).substr(2) : std::string_view(lower))) {
      route->host = lower;
    } else {
      r.Error("host", absl::StrFormat("must be a host name (\"api.example.com\") or \"*.suffix\" "
                                      "(\"*.example.com\"), without port, got %s",
                                      Quote(host)));
    }
  }
  ReadPathMatch(r, route);
  ReadMethods(r, route);
  ReadHeaderMatches(r, route);
  const std::vector<std::string> captures = route->path_kind == PathMatch::kTemplate
                                                ? TemplateCaptureNames(route->path)
                                                : std::vector<std::string>();
  if (AggregateConfig aggregate; ReadAggregateConfig(r, captures, &aggregate)) {
    route->aggregate = std::move(aggregate);
  } else if (r.Require("upstream") && r.ReadString("upstream", &route->upstream)) {
    origin->upstream = r.PositionOf("upstream");
  }
  ReadRewrites(r, route);
  if (r.ReadString("auth", &route->auth)) origin->auth = r.PositionOf("auth");
  r.ReadStringArray("require_scopes", &route->require_scopes);
  ReadStringPairs(r, "require_claims", false, &route->require_claims);
  if ((!route->require_scopes.empty() || !route->require_claims.empty()) && !r.Has("auth")) {
    r.Error(r.Has("require_scopes") ? "require_scopes" : "require_claims",
            "needs auth (scopes and claims come from an [[auth]] provider)");
  }
  if (r.ReadString("rate_limit", &route->rate_limit)) {
    origin->rate_limit = r.PositionOf("rate_limit");
  }
  if (r.ReadString("concurrency_limit", &route->concurrency_limit)) {
    origin->concurrency_limit = r.PositionOf("concurrency_limit");
  }
  if (r.ReadString("cache", &route->cache)) origin->cache = r.PositionOf("cache");
  if (r.ReadBool("cache_set_cookie", &route->cache_set_cookie) && !r.Has("cache")) {
    r.Error("cache_set_cookie", "needs cache (it says which responses a [[cache]] may store)");
  }
  ReadStringPairs(r, "add_request_headers", true, &route->add_request_headers);
  ReadHeaderEdits(r, "request_headers", HeaderDirection::kRequest, &route->request_headers);
  ReadHeaderEdits(r, "response_headers", HeaderDirection::kResponse, &route->response_headers);
  if (CorsConfig cors; ReadCorsConfig(r, &cors)) route->cors = std::move(cors);
  if (CompressionConfig compress; ReadCompressionConfig(r, &compress)) {
    route->compress = std::move(compress);
  }
  route->soap = ReadSoapConfig(
      r, route->path_kind == PathMatch::kTemplate ? std::string_view(route->path) : "");
  r.ReadBool("allow_h2c_upgrade", &route->allow_h2c_upgrade);
  r.ReadBool("case_insensitive", &route->case_insensitive);
  if (double rate; log::ReadSampleRate(r, "access_log_sample", &rate)) {
    route->access_log_sample = rate;
  }
}

template <typename T>
std::string ListNames(const std::vector<T>& items) {
  std::string out;
  size_t listed = 0;
  std::set<std::string_view> seen;
  for (const T& item : items) {
    if (item.name.empty() || !seen.insert(item.name).second) continue;
    if (listed == kMaxNamesListed) {
      out += ", ...";
      break;
    }
    if (listed++ > 0) out += ", ";
    out += item.name;
  }
  return out;
}

// The names of the [[auth]], [[rate_limit]] or [[concurrency_limit]] tables (their contents are the
// filters' business).
struct NamedTable {
  std::string name;
};
std::vector<NamedTable> NamesIn(const toml::node* node) {
  std::vector<NamedTable> names;
  const toml::array* array = node != nullptr ? node->as_array() : nullptr;
  if (array == nullptr) return names;
  for (const toml::node& element : *array) {
    const toml::table* table = element.as_table();
    if (table == nullptr) continue;
    if (const auto* name = table->get_as<std::string>("name")) names.push_back({name->get()});
  }
  return names;
}

void CheckReference(ConfigErrors& errors, const Origin& origin, const toml::source_position& at,
                    std::string_view key, const std::string& name,
                    const std::vector<NamedTable>& defined, std::string_view table_name) {
  if (at.line == 0 || name.empty()) return;
  for (const NamedTable& t : defined) {
    if (t.name == name) return;
  }
  const std::string list = ListNames(defined);
  errors.Add(at, origin.context, key,
             absl::StrFormat("unknown %s %s (%s)", table_name, Quote(name),
                             list.empty() ? absl::StrFormat("no [[%s]] is defined", table_name)
                                          : "defined: " + list));
}

template <typename T>
void CheckUniqueNames(const std::vector<T>& items, const std::vector<Origin>& origins,
                      std::string_view kind, ConfigErrors& errors) {
  std::unordered_map<std::string_view, size_t> by_name;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;
    auto [it, inserted] = by_name.emplace(items[i].name, i);
    if (!inserted) {
      errors.Add(origins[i].name, origins[i].context, "name",
                 absl::StrFormat("duplicate %s name, first defined at %s", kind,
                                 Where(errors, origins[it->second].name)));
    }
  }
}

void CrossCheck(const GatewayConfig& config, const std::vector<Origin>& upstream_origins,
                const std::vector<Origin>& route_origins, const toml::table& root,
                ConfigErrors& errors) {
  CheckUniqueNames(config.upstreams, upstream_origins, "upstream", errors);
  CheckUniqueNames(config.routes, route_origins, "route", errors);
  const std::vector<NamedTable> auths = NamesIn(root.get("auth"));
  const std::vector<NamedTable> limits = NamesIn(root.get("rate_limit"));
  const std::vector<NamedTable> concurrency = NamesIn(root.get("concurrency_limit"));
  const std::vector<NamedTable> caches = NamesIn(root.get("cache"));
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& route = config.routes[i];
    const Origin& origin = route_origins[i];
    if (origin.upstream.line != 0 && config.FindUpstream(route.upstream) == nullptr) {
      const std::string list = ListNames(config.upstreams);
      errors.Add(origin.upstream, origin.context, "upstream",
                 absl::StrFormat("unknown upstream %s (%s)", Quote(route.upstream),
                                 list.empty() ? std::string("no [[upstream]] is defined")
                                              : "defined: " + list));
    }
    if (route.aggregate) {
      for (const AggregatePartConfig& part : route.aggregate->parts) {
        if (config.FindUpstream(part.upstream) != nullptr) continue;
        const std::string list = ListNames(config.upstreams);
        errors.Add(
            part.upstream_at, origin.context, "aggregate",
            absl::StrFormat(
                "part %s: unknown upstream %s (%s)", Quote(part.name), Quote(part.upstream),
                list.empty() ? std::string("no [[upstream]] is defined") : "defined: " + list));
      }
    }
    CheckReference(errors, origin, origin.auth, "auth", route.auth, auths, "auth");
    CheckReference(errors, origin, origin.rate_limit, "rate_limit", route.rate_limit, limits,
                   "rate_limit");
    CheckReference(errors, origin, origin.concurrency_limit, "concurrency_limit",
                   route.concurrency_limit, concurrency, "concurrency_limit");
    CheckReference(errors, origin, origin.cache, "cache", route.cache, caches, "cache");
  }
}

}  // namespace

const UpstreamConfig* GatewayConfig::FindUpstream(std::string_view name) const {
  const int index = UpstreamIndex(name);
  return index < 0 ? nullptr : &upstreams[static_cast<size_t>(index)];
}

int GatewayConfig::UpstreamIndex(std::string_view name) const {
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (upstreams[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

absl::Status ValidatePathTemplate(std::string_view path_template) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid template %s: %s", Quote(path_template), why));
  };
  if (path_template.empty() || path_template.front() != '/') return bad("must start with '/'");
  if (path_template.size() > 4096) return bad("longer than 4096 bytes");
  std::set<std::string_view> names;
  std::string_view rest = path_template.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (segment.empty() && !last) return bad("empty segment (\"//\")");
    if (!segment.empty() && segment.front() == '{') {
      if (segment.size() < 3 || segment.back() != '}') {
        return bad("a capture is a whole segment \"{name}\"");
      }
      const std::string_view name = segment.substr(1, segment.size() - 2);
      const bool name_ok =
          !(name[0] >= '0' && name[0] <= '9') && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_';
          });
      if (!name_ok) return bad("a capture name is [A-Za-z_][A-Za-z0-9_]*");
      if (!names.insert(name).second) {
        return bad(absl::StrFormat("capture {%s} appears twice", name));
      }
    } else {
      for (char c : segment) {
        if (c == '{' || c == '}') return bad("a capture is a whole segment \"{name}\"");
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
          return bad("only visible ASCII without '?' or '#'");
        }
      }
    }
    if (last) break;
    rest = rest.substr(slash + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<GatewayConfig> ParseGatewayConfig(std::string_view text, const std::string& path) {
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(text, path));
  auto document = std::make_shared<const toml::table>(std::move(root));
  ConfigErrors errors{path};
  GatewayConfig config;
  config.path = path;

  TableReader top(*document, errors, "",
                  {"gw7", "upstream", "route", "auth", "rate_limit", "concurrency_limit", "redis",
                   "dns", "cache"});
  if (top.Require("gw7")) {
    if (const toml::table* gw7 = top.ReadTable("gw7")) ReadGw7Section(*gw7, errors, &config);
  }
  if (const toml::table* dns = top.ReadTable("dns")) dns::ReadDnsConfig(*dns, errors, &config.dns);

  std::vector<Origin> upstream_origins;
  for (const auto& [index, table] : top.ReadTables("upstream")) {
    ReadUpstream(*table, index, errors, &config.upstreams.emplace_back(),
                 &upstream_origins.emplace_back());
  }
  std::vector<Origin> route_origins;
  for (const auto& [index, table] : top.ReadTables("route")) {
    ReadRoute(*table, index, errors, &config.routes.emplace_back(), &route_origins.emplace_back());
  }
  // The filters' sections: only their shape here; l7/filters/* read their contents.
  top.ReadTables("auth");
  top.ReadTables("rate_limit");
  top.ReadTables("concurrency_limit");
  top.ReadTables("cache");
  top.ReadTable("redis");

  CrossCheck(config, upstream_origins, route_origins, *document, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  config.document = std::move(document);
  return config;
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(path));
  return ParseGatewayConfig(text, path);
}

}  // namespace edge::l7
