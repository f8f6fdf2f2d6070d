#pragma once
// Who a Redis connection authenticates as: AUTH [username] password, sent first on every
// connection (l7/filters/ratelimit/redis_client.h). No username: Redis's `requirepass` (the
// default user). Read from [redis] by rate_limit_config.h; the password comes from a file.

#include <string>

namespace edge::l7 {

struct RedisCredentials {
  std::string username;
  std::string password;
  bool operator==(const RedisCredentials&) const = default;
};

}  // namespace edge::l7
