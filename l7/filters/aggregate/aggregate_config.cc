#include "l7/filters/aggregate/aggregate_config.h"

#include <algorithm>
#include <set>

#include "absl/algorithm/container.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/config/errors.h"

namespace edge::l7 {
namespace {

constexpr std::string_view kLoneKeys[] = {"merge", "aggregate_timeout", "max_part_bytes"};

bool IsPartName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '_') return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool ReadAggregateConfig(config::TableReader& route, const std::vector<std::string>& captures,
                         AggregateConfig* out) {
  if (!route.Has("aggregate")) {
    for (std::string_view key : kLoneKeys) {
      if (route.Has(key)) route.Error(key, "needs aggregate (it configures an aggregation)");
    }
    return false;
  }
  AggregateConfig c;
  if (route.Has("upstream")) {
    route.Error("upstream", "a route with aggregate has no upstream (each part names its own)");
  }
  const auto parts = route.ReadTables("aggregate");
  if (parts.empty()) route.Error("aggregate", "must list at least one part");
  if (parts.size() > AggregateConfig::kMaxParts) {
    route.Error("aggregate", absl::StrFormat("at most %d parts (got %d)",
                                             AggregateConfig::kMaxParts, parts.size()));
  }
  std::set<std::string> names;
  for (const auto& [index, table] : parts) {
    config::TableReader p(*table, route.errors(), route.context(),
                          {"name", "upstream", "path", "method", "required", "timeout"},
                          absl::StrFormat("aggregate[%d].", index));
    AggregatePartConfig part;
    bool ok = p.Require("name") && p.ReadString("name", &part.name);
    if (ok && !IsPartName(part.name)) {
      p.Error("name", absl::StrFormat("must be 1-64 characters of A-Z a-z 0-9 _ - not starting "
                                      "with '_' (\"_errors\" is gw7's), got %s",
                                      config::Quote(part.name)));
      ok = false;
    }
    if (ok && !names.insert(part.name).second) {
      p.Error("name", absl::StrFormat("duplicate part name %s", config::Quote(part.name)));
      ok = false;
    }
    if (p.Require("upstream") && p.ReadString("upstream", &part.upstream)) {
      part.upstream_at = p.Get("upstream")->source().begin;
    } else {
      ok = false;
    }
    if (p.Require("path") && p.ReadString("path", &part.path)) {
      absl::StatusOr<PartTemplate> t = ParsePartTemplate(part.path, captures);
      if (t.ok()) {
        part.target = std::move(*t);
      } else {
        p.Error("path", absl::StrFormat("%s: %s", config::Quote(part.path), t.status().message()));
        ok = false;
      }
    } else {
      ok = false;
    }
    if (p.ReadString("method", &part.method)) {
      static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
      if (std::find(std::begin(kMethods), std::end(kMethods), part.method) == std::end(kMethods)) {
        p.Error("method", absl::StrFormat("unknown value %s (GET|POST|PUT|PATCH|DELETE)",
                                          config::Quote(part.method)));
        ok = false;
      }
    } else if (p.Has("method")) {
      ok = false;
    }
    if (!p.ReadBool("required", &part.required) && p.Has("required")) ok = false;
    if (!p.ReadDuration("timeout", &part.timeout, absl::Milliseconds(1), absl::Hours(1)) &&
        p.Has("timeout")) {
      ok = false;
    }
    if (ok) c.parts.push_back(std::move(part));
  }
  route.ReadEnum("merge", &c.merge,
                 {config::EnumValue<AggregateMerge>{"keys", AggregateMerge::kKeys},
                  config::EnumValue<AggregateMerge>{"flat", AggregateMerge::kFlat}});
  route.ReadDuration("aggregate_timeout", &c.timeout, absl::Milliseconds(1), absl::Hours(1));
  route.ReadSize("max_part_bytes", &c.max_part_bytes, 1, uint64_t{64} << 20);
  for (const AggregatePartConfig& part : c.parts) {
    if (part.timeout != absl::InfiniteDuration() && part.timeout > c.timeout) {
      route.Error("aggregate",
                  absl::StrFormat("part %s: timeout %s is longer than aggregate_timeout %s, so it "
                                  "would never apply",
                                  config::Quote(part.name), absl::FormatDuration(part.timeout),
                                  absl::FormatDuration(c.timeout)));
    }
  }
  for (const AggregatePartConfig& part : c.parts) {
    if (absl::c_linear_search(absl::StrSplit(c.upstreams, ','), part.upstream)) continue;
    if (!c.upstreams.empty()) c.upstreams += ',';
    c.upstreams += part.upstream;
  }
  *out = std::move(c);
  return true;
}

}  // namespace edge::l7
