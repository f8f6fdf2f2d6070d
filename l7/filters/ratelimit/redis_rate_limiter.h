#pragma once
// RedisRateLimiter: GCRA on a Redis server shared by every gw7 (store = "redis"), so that one
// limit holds across processes and machines.
//
// The check is one atomic Lua script (below): it reads the key's TAT, applies GCRA with the
// server's own clock (TIME: every gw7 sees the same "now", whatever their clocks say), stores the
// new TAT with an expiry at the moment the bucket is full again, and returns the decision. The
// script is loaded with SCRIPT LOAD on every (re)connect and run with EVALSHA; a NOSCRIPT error
// (a restarted or flushed Redis) is answered by running it once with EVAL, which loads it again.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "l7/filters/ratelimit/gcra.h"
#include "l7/filters/ratelimit/redis_client.h"

namespace edge::l7 {

class RedisRateLimiter {
 public:
  using Callback = std::function<void(absl::StatusOr<GcraDecision>)>;

  // Installs the client's connect hook (SCRIPT LOAD).
  RedisRateLimiter(std::shared_ptr<RedisClient> client, std::string key_prefix);
  // Shuts the client down: checks still waiting get their callback (Unavailable) now.
  ~RedisRateLimiter();
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  // One request against `key` (the full Redis key is prefix + key). False when the client cannot
  // take a command now (callback never called; the caller applies its failure policy). Otherwise
  // the callback runs once, later: the decision, or an error (timeout, connection lost, an error
  // reply).
  bool Check(const GcraPolicy& policy, const std::string& key, Callback callback);

  RedisClient& client() { return *client_; }
  static const std::string& Script();
  static const std::string& ScriptSha1();  // hex

 private:
  void Run(std::vector<std::string> args, bool by_sha, Callback callback);
  std::shared_ptr<RedisClient> client_;
  std::string key_prefix_;
};

}  // namespace edge::l7
