#pragma once
// A route's request aggregation (DESIGN.md config contract): `aggregate = [ { name, upstream,
// path, method, required, timeout }, ... ]`, `merge = "keys" | "flat"`, and the keys added here:
// `aggregate_timeout` (one deadline for the whole answer) and `max_part_bytes` (a part's body
// beyond it fails the part as "too_large").
//
// Refused at load: no parts, more than kMaxParts, a part name that is not 1-64 of A-Z a-z 0-9 _ -
// or starts with '_' (reserved for "_errors"), a duplicate name, a path that does not parse
// (part_template.h: unknown placeholders among them), a method that is not GET, POST, PUT, PATCH
// or DELETE, a part timeout longer than the whole deadline, a merge other than keys|flat, and
// aggregate together with upstream. Unknown upstreams are refused by the config's cross-check.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/config/table_reader.h"
#include "l7/filters/aggregate/part_template.h"

namespace edge::l7 {

enum class AggregateMerge {
  kKeys,  // {"part": <its body>, ...}
  kFlat,  // the members of every part's object in one object; a later part's member wins
};

struct AggregatePartConfig {
  std::string name;
  std::string upstream;
  toml::source_position upstream_at{};  // for the unknown-upstream message
  std::string path;                     // as configured
  PartTemplate target;
  std::string method = "GET";
  bool required = true;
  absl::Duration timeout = absl::InfiniteDuration();  // the whole deadline bounds it anyway
};

struct AggregateConfig {
  static constexpr size_t kMaxParts = 16;
  std::vector<AggregatePartConfig> parts;
  AggregateMerge merge = AggregateMerge::kKeys;
  absl::Duration timeout = absl::Seconds(5);
  uint64_t max_part_bytes = 1 << 20;
  // The parts' upstreams, each once in part order ("catalog,reviews"): the access log's upstream.
  std::string upstreams;
};

// Reads `aggregate` (and merge, aggregate_timeout, max_part_bytes) of a route table whose
// path_template captures are `captures`; false (and *out untouched) when the route has no
// `aggregate`. merge, aggregate_timeout and max_part_bytes without aggregate are errors.
bool ReadAggregateConfig(config::TableReader& route, const std::vector<std::string>& captures,
                         AggregateConfig* out);

}  // namespace edge::l7
