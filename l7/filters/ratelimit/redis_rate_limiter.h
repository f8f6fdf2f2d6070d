#pragma once
// RedisRateLimiter: GCRA on a Redis server shared by every gw7 (store = "redis"), so that one
// limit holds across processes and machines.
//
// The check is one atomic Lua script (below): it reads the key's TAT, applies GCRA with the
// server's own clock (TIME: every gw7 sees the same "now", whatever their clocks say), stores the
// new TAT with an expiry at the moment the bucket is full again, and returns the decision. The
// script is loaded with SCRIPT LOAD on every (re)connect and run with EVALSHA; a NOSCRIPT error
// (a restarted or flushed Redis) is answered by running it once with EVAL, which loads it again.
//
// Two ways to reach Redis: one fixed server (the client reconnects to it by itself), or Redis
// Sentinel (redis_sentinel.h), which hands the limiter the verified primary's client, or none
// while a failover is under way: Check() then refuses at once and the caller applies its failure
// policy. A READONLY answer (a primary demoted under us) is reported to the sentinel.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "l7/filters/ratelimit/gcra.h"
#include "l7/filters/ratelimit/redis_client.h"
#include "l7/filters/ratelimit/redis_sentinel.h"

namespace edge::l7 {

class RedisRateLimiter {
 public:
  using Callback = std::function<void(absl::StatusOr<GcraDecision>)>;

  // Installs the client's connect hook (SCRIPT LOAD).
  RedisRateLimiter(std::shared_ptr<RedisClient> client, std::string key_prefix);
  // Through Redis Sentinel: starts finding the primary at once.
  RedisRateLimiter(uring::EventLoop* loop, RedisSentinel::Options sentinel, std::string key_prefix);
  // Shuts the client down: checks still waiting get their callback (Unavailable) now.
  ~RedisRateLimiter();
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  // One request against `key` (the full Redis key is prefix + key). False when the client cannot
  // take a command now (callback never called; the caller applies its failure policy). Otherwise
  // the callback runs once, later: the decision, or an error (timeout, connection lost, an error
  // reply).
  bool Check(const GcraPolicy& policy, const std::string& key, Callback callback);

  // The fixed server's client (the first constructor only).
  RedisClient& client() { return *client_; }
  // Commands, replies, timeouts, connects... of every connection to the server or primaries.
  const RedisClientStats& stats() const { return *stats_; }
  bool connected() const { return client_ != nullptr && client_->connected(); }
  // Null without sentinels.
  const RedisSentinel* sentinel() const { return sentinel_.get(); }
  static const std::string& Script();
  static const std::string& ScriptSha1();  // hex

 private:
  void Run(std::shared_ptr<RedisClient> client, std::vector<std::string> args, bool by_sha,
           Callback callback);
  void SetClient(std::shared_ptr<RedisClient> client);  // from the sentinel
  static void LoadScript(RedisClient& client);

  std::shared_ptr<RedisClient> client_;  // null while the sentinel knows no primary
  std::shared_ptr<RedisClientStats> stats_;
  std::string key_prefix_;
  std::unique_ptr<RedisSentinel> sentinel_;
};

}  // namespace edge::l7
