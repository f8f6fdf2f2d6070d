#include "l7/filters/ratelimit/rate_limit_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/named_tables.h"
#include "common/config/secret_file.h"
#include "common/config/table_reader.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::ForEachNamedTable;
using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
using config::TableReader;

constexpr uint64_t kMaxLimit = 1'000'000'000;
constexpr uint64_t kMaxKeysCap = 100'000'000;

bool IsHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

constexpr config::EnumValue<RateLimitStoreKind> kStores[] = {
    {"local", RateLimitStoreKind::kLocal},
    {"redis", RateLimitStoreKind::kRedis},
};
constexpr config::EnumValue<RateLimitFailure> kFailures[] = {
    {"open", RateLimitFailure::kOpen},
    {"closed", RateLimitFailure::kClosed},
};

void ReadKey(TableReader& r, RateLimitPolicyConfig* policy) {
  std::string key;
  if (!r.Require("key") || !r.ReadString("key", &key)) return;
  if (key == "consumer") {
    policy->key = RateLimitKeyKind::kConsumer;
  } else if (key == "client_ip") {
    policy->key = RateLimitKeyKind::kClientIp;
  } else if (key == "route") {
    policy->key = RateLimitKeyKind::kRoute;
  } else if (key.rfind("header:", 0) == 0 && IsHeaderName(key.substr(7))) {
    policy->key = RateLimitKeyKind::kHeader;
    policy->header = key.substr(7);
  } else {
    r.Error("key",
            absl::StrFormat("unknown value %s (consumer|client_ip|route|header:NAME)", Quote(key)));
  }
}

// `address`, or `sentinels` + `master`: exactly one way to find the server.
void ReadRedisServer(TableReader& r, RedisConfig* redis) {
  const bool has_address = r.Has("address");
  const bool has_sentinels = r.Has("sentinels");
  if (has_address && has_sentinels) {
    r.Error("sentinels",
            "give either address (one server) or sentinels + master (Redis Sentinel), not both");
    return;
  }
  if (!has_address && !has_sentinels) {
    r.Error("address", "required: the server's address, or sentinels = [...] and master = \"...\"");
    return;
  }
  if (has_address) {
    if (r.Has("master")) r.Error("master", "only applies with sentinels = [...]");
    if (r.ReadAddress("address", &redis->address) && redis->address.port() == 0) {
      r.Error("address", "needs a port");
    }
    return;
  }
  std::vector<std::string> sentinels;
  if (r.ReadStringArray("sentinels", &sentinels)) {
    if (sentinels.empty()) r.Error("sentinels", "needs at least one \"host:port\"");
    if (sentinels.size() > 32) r.Error("sentinels", "at most 32 sentinels");
    for (const std::string& text : sentinels) {
      auto address = net::SocketAddress::Parse(text);
      if (!address.ok()) {
        r.Error("sentinels", absl::StrFormat("%s: %s", Quote(text), address.status().message()));
      } else if (address->port() == 0) {
        r.Error("sentinels", absl::StrFormat("%s: needs a port", Quote(text)));
      } else if (std::find(redis->sentinels.begin(), redis->sentinels.end(), *address) !=
                 redis->sentinels.end()) {
        r.Error("sentinels", absl::StrFormat("%s is listed twice", Quote(text)));
      } else {
        redis->sentinels.push_back(*address);
      }
    }
  }
  if (!r.Has("master")) {
    r.Error("sentinels", "needs master = \"NAME\": the name the sentinels monitor");
  } else if (r.ReadString("master", &redis->master) &&
             (redis->master.empty() || redis->master.size() > 128 ||
              redis->master.find_first_of(" \t\r\n") != std::string::npos)) {
    r.Error("master", absl::StrFormat("must be 1-128 characters without spaces, got %s",
                                      Quote(redis->master)));
  }
}

// `user_key` + `password_key` (a secret file): the AUTH a connection sends, or none. A username
// without a password is an error (AUTH needs one).
std::optional<RedisCredentials> ReadCredentials(TableReader& r, const char* user_key,
                                                const char* password_key) {
  RedisCredentials c;
  const bool has_user = r.ReadString(user_key, &c.username);
  if (has_user && (c.username.empty() || c.username.size() > 128 ||
                   std::any_of(c.username.begin(), c.username.end(),
                               [](char ch) { return ch <= ' ' || ch > '~'; }))) {
    r.Error(user_key,
            absl::StrFormat("must be 1-128 visible ASCII characters, got %s", Quote(c.username)));
  }
  std::string file;
  if (!r.ReadString(password_key, &file)) {
    if (has_user)
      r.Error(user_key, absl::StrFormat("needs %s: AUTH takes a password", password_key));
    return std::nullopt;
  }
  absl::StatusOr<std::string> password =
      config::LoadSecretFile(file, {.what = "password", .min_length = 1, .max_length = 512});
  if (!password.ok()) {
    r.Error(password_key, std::string(password.status().message()));
    return std::nullopt;
  }
  c.password = *std::move(password);
  return c;
}

}  // namespace

absl::StatusOr<RateLimitConfigs> ParseRateLimitConfigs(const toml::table& document,
                                                       const std::string& path) {
  ConfigErrors errors(path);
  RateLimitConfigs out;
  bool needs_redis = false;
  toml::source_position first_redis_policy{};
  if (!ForEachNamedTable(
          document, "rate_limit", errors,
          [&](const toml::table& table, const std::string& context) {
            TableReader r(table, errors, context,
                          {"name", "key", "limit", "per", "burst", "store", "failure", "max_keys"});
            RateLimitPolicyConfig policy;
            if (r.Require("name") && r.ReadString("name", &policy.name) &&
                !IsValidName(policy.name)) {
              r.Error("name",
                      absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                                      kMaxNameLength, Quote(policy.name)));
            }
            for (const RateLimitPolicyConfig& other : out.policies) {
              if (!policy.name.empty() && other.name == policy.name) {
                r.Error("name",
                        absl::StrFormat("duplicate [[rate_limit]] name %s", Quote(policy.name)));
              }
            }
            ReadKey(r, &policy);
            if (r.Require("limit")) r.ReadInt("limit", &policy.limit, uint64_t{1}, kMaxLimit);
            if (r.Require("per"))
              r.ReadDuration("per", &policy.per, absl::Milliseconds(1), absl::Hours(24));
            r.ReadInt("burst", &policy.burst, uint64_t{0}, kMaxLimit);
            r.ReadEnum("store", &policy.store, kStores);
            r.ReadEnum("failure", &policy.failure, kFailures);
            r.ReadInt("max_keys", &policy.max_keys, uint64_t{1}, kMaxKeysCap);
            if (r.Has("max_keys") && policy.store == RateLimitStoreKind::kRedis) {
              r.Error("max_keys", "only applies to store = \"local\" (Redis expires its own keys)");
            }
            if (policy.store == RateLimitStoreKind::kRedis && !needs_redis) {
              needs_redis = true;
              first_redis_policy = r.Get("store")->source().begin;
            }
            out.policies.push_back(std::move(policy));
          })) {
    return errors.ToStatus();
  }
  if (const toml::node* node = document.get("redis")) {
    if (const toml::table* table = node->as_table()) {
      TableReader r(*table, errors, "redis",
                    {"address", "sentinels", "master", "timeout", "connect_timeout", "key_prefix",
                     "username", "password_file", "sentinel_username", "sentinel_password_file"});
      RedisConfig redis;
      ReadRedisServer(r, &redis);
      r.ReadDuration("timeout", &redis.timeout, absl::Milliseconds(1), absl::Seconds(10));
      r.ReadDuration("connect_timeout", &redis.connect_timeout, absl::Milliseconds(1),
                     absl::Seconds(60));
      if (r.ReadString("key_prefix", &redis.key_prefix) && redis.key_prefix.size() > 128) {
        r.Error("key_prefix", "at most 128 bytes");
      }
      redis.credentials = ReadCredentials(r, "username", "password_file");
      if (!redis.sentinels.empty()) {
        redis.sentinel_credentials =
            ReadCredentials(r, "sentinel_username", "sentinel_password_file");
      } else {
        for (const char* key : {"sentinel_username", "sentinel_password_file"}) {
          if (r.Has(key)) r.Error(key, "only applies with sentinels = [...]");
        }
      }
      out.redis = redis;
    } else {
      errors.Add(*node, "", "redis", "must be a table ([redis])");
    }
  }
  if (needs_redis && !out.redis) {
    errors.Add(first_redis_policy, "rate_limit", "store",
               "store = \"redis\" needs a [redis] table with the server's address");
  }
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace edge::l7
