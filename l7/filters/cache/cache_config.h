#pragma once
// The [[cache]] tables of gateway.toml: named in-memory response caches a route uses with
// `cache = "name"` (README "Caching").
//
//   [[cache]]
//   name = "hot"                      # required, unique
//   max_bytes = "512MiB"              # memory for stored responses, keys and bookkeeping
//   (64KiB..1TiB) max_object_bytes = "8MiB"         # a larger body is passed through, not stored
//   (<= max_bytes) key = ["header:Accept-Encoding", "consumer"]   # extras beyond route + scheme +
//   host + path + query
//   coalesce_timeout = "5s"           # concurrent misses for one key wait this long at most for
//                                     # the one that went upstream ("0s": no coalescing)
//   purge_token_file = "purge.token"  # admin POST /cache/NAME/purge needs this bearer token
//
// key extras: "header:NAME" adds the values of that request field; "consumer" adds the consumer
// an [[auth]] established (with it, authenticated responses are kept per consumer).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/toml.h"

namespace edge::l7 {

struct CacheKeyExtra {
  enum class Kind { kHeader, kConsumer } kind = Kind::kHeader;
  std::string header;  // kHeader: lower case field name
  friend bool operator==(const CacheKeyExtra&, const CacheKeyExtra&) = default;
};

struct CacheConfig {
  std::string name;
  uint64_t max_bytes = 0;
  uint64_t max_object_bytes = 1 << 20;
  std::vector<CacheKeyExtra> key;
  int64_t coalesce_timeout_ns = 5'000'000'000;
  // The bearer token that authorizes a purge (cache_purge.h); empty: purging is refused.
  std::string purge_token;
  bool keyed_by_consumer() const {
    for (const CacheKeyExtra& e : key) {
      if (e.kind == CacheKeyExtra::Kind::kConsumer) return true;
    }
    return false;
  }
  friend bool operator==(const CacheConfig&, const CacheConfig&) = default;
};

// Reads and validates every [[cache]] of `document`; errors as FILE:LINE:COL.
absl::StatusOr<std::vector<CacheConfig>> ParseCacheConfigs(const toml::table& document,
                                                           const std::string& path);

}  // namespace edge::l7
