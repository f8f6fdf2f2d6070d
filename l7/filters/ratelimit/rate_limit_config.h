#pragma once
// The [[rate_limit]] tables and the [redis] table of gateway.toml (DESIGN.md, config contract):
//
//   [[rate_limit]]
//   name = "per-consumer"     # required, unique; routes say rate_limit = "per-consumer"
//   key = "consumer"          # consumer | client_ip | route | header:NAME
//   limit = 100               # requests ...
//   per = "1m"                # ... per period (1ms .. 24h)
//   burst = 20                # extra requests an idle client may send at once (default 0)
//   store = "local"           # local | redis
//   failure = "open"          # redis unreachable or slow: open (let through) | closed (503)
//   max_keys = 100000         # local: keys kept at most (idle keys expire anyway)
//
//   [redis]                   # required when a policy has store = "redis"
//   address = "127.0.0.1:6379"   # one server; or, for a primary that fails over (Redis Sentinel):
//   sentinels = ["10.0.0.5:26379", "10.0.0.6:26379", "10.0.0.7:26379"]
//   master = "edge"             # the name the sentinels monitor (required with sentinels)
//   timeout = "50ms"          # per request; beyond it the failure policy decides
//   connect_timeout = "1s"
//   key_prefix = "gw7:rl:"
//   username = "gw7"          # AUTH: an ACL user (optional; without it, the default user) ...
//   password_file = "/etc/edge/redis.pass"    # ... and its password (one line, mode o-rwx)
//   sentinel_username = "gw7"                 # AUTH on the sentinels, when they require it
//   sentinel_password_file = "/etc/edge/sentinel.pass"
//
// key = "consumer" uses the authenticated consumer; a request without one (no auth on the route)
// is keyed by its client address, and key = "header:NAME" without that header likewise, so an
// anonymous caller still gets a bucket of its own.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/toml.h"
#include "common/net/address.h"
#include "l7/filters/ratelimit/redis_credentials.h"

namespace edge::l7 {

enum class RateLimitKeyKind { kConsumer, kClientIp, kRoute, kHeader };
enum class RateLimitStoreKind { kLocal, kRedis };
enum class RateLimitFailure { kOpen, kClosed };

struct RateLimitPolicyConfig {
  std::string name;
  RateLimitKeyKind key = RateLimitKeyKind::kClientIp;
  std::string header;  // kHeader: the header name
  uint64_t limit = 0;
  absl::Duration per = absl::Minutes(1);
  uint64_t burst = 0;
  RateLimitStoreKind store = RateLimitStoreKind::kLocal;
  RateLimitFailure failure = RateLimitFailure::kOpen;
  uint64_t max_keys = 100000;
};

struct RedisConfig {
  net::SocketAddress address;                 // when sentinels is empty
  std::vector<net::SocketAddress> sentinels;  // when not empty: the primary comes from them
  std::string master;                         // with sentinels
  absl::Duration timeout = absl::Milliseconds(50);
  absl::Duration connect_timeout = absl::Seconds(1);
  std::string key_prefix = "gw7:rl:";
  // username + password_file: AUTH on the Redis servers; sentinel_username +
  // sentinel_password_file: AUTH on the sentinels (their own requirepass or ACL user).
  std::optional<RedisCredentials> credentials;
  std::optional<RedisCredentials> sentinel_credentials;
};

struct RateLimitConfigs {
  std::vector<RateLimitPolicyConfig> policies;
  std::optional<RedisConfig> redis;  // present when [redis] is
};

// Reads and validates [[rate_limit]] and [redis] of `document`; errors as FILE:LINE:COL.
absl::StatusOr<RateLimitConfigs> ParseRateLimitConfigs(const toml::table& document,
                                                       const std::string& path);

}  // namespace edge::l7
