#include "l7/filters/ratelimit/redis_rate_limiter.h"

#include <openssl/sha.h>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

// KEYS[1]: the bucket. ARGV[1]: emission interval T in microseconds. ARGV[2]: capacity C.
// Returns {allowed (0/1), remaining, reset_us, retry_after_us}. Mirrors gcra.cc exactly; numbers
// are Lua doubles, exact for microsecond timestamps (< 2^53).
constexpr char kScript[] = R"lua(
local t = tonumber(ARGV[1])
local c = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + t
local allow_at = new_tat - c * t
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return {1, math.floor((now - allow_at) / t), new_tat - now, 0}
)lua";

absl::StatusOr<GcraDecision> Decode(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kError) {
    return absl::InternalError(absl::StrFormat("redis error: %s", reply.str));
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 4) {
    return absl::InternalError("redis: unexpected reply to the rate-limit script");
  }
  for (const RedisReply& e : reply.elements) {
    if (e.type != RedisReply::Type::kInteger) {
      return absl::InternalError("redis: unexpected reply to the rate-limit script");
    }
  }
  GcraDecision d;
  d.allowed = reply.elements[0].integer == 1;
  d.remaining = reply.elements[1].integer;
  d.reset_ns = reply.elements[2].integer * 1000;
  d.retry_after_ns = reply.elements[3].integer * 1000;
  return d;
}

}  // namespace

const std::string& RedisRateLimiter::Script() {
  static const std::string* script = new std::string(kScript);
  return *script;
}

const std::string& RedisRateLimiter::ScriptSha1() {
  static const std::string* sha = [] {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(Script().data()), Script().size(), digest);
    std::string hex;
    for (unsigned char b : digest) hex += absl::StrFormat("%02x", b);
    return new std::string(hex);
  }();
  return *sha;
}

RedisRateLimiter::RedisRateLimiter(std::shared_ptr<RedisClient> client, std::string key_prefix)
    : client_(std::move(client)),
      stats_(std::shared_ptr<RedisClientStats>(client_,
                                               const_cast<RedisClientStats*>(&client_->stats()))),
      key_prefix_(std::move(key_prefix)) {
  client_->set_connect_hook([](RedisClient& c) { LoadScript(c); });
}

RedisRateLimiter::RedisRateLimiter(uring::EventLoop* loop, RedisSentinel::Options sentinel,
                                   std::string key_prefix)
    : stats_(std::make_shared<RedisClientStats>()), key_prefix_(std::move(key_prefix)) {
  sentinel.primary_stats = stats_;
  sentinel_ = std::make_unique<RedisSentinel>(
      loop, std::move(sentinel),
      [this](std::shared_ptr<RedisClient> client) { SetClient(std::move(client)); });
}

RedisRateLimiter::~RedisRateLimiter() {
  sentinel_.reset();  // shuts down its primary too
  if (client_ != nullptr) client_->Shutdown();
}

void RedisRateLimiter::LoadScript(RedisClient& c) {
  c.Command({"SCRIPT", "LOAD", Script()}, [](absl::StatusOr<RedisReply> reply) {
    if (!reply.ok()) return;  // the connection's own failure is logged by the client
    if (reply->type != RedisReply::Type::kString || reply->str != ScriptSha1()) {
      LOG_WARN("redis: SCRIPT LOAD of the rate-limit script failed: %s", reply->str);
    }
  });
}

void RedisRateLimiter::SetClient(std::shared_ptr<RedisClient> client) {
  client_ = std::move(client);
  // A verified primary is connected already: load the script before the first check.
  if (client_ != nullptr && client_->connected()) LoadScript(*client_);
}

bool RedisRateLimiter::Check(const GcraPolicy& policy, const std::string& key, Callback callback) {
  if (client_ == nullptr || !client_->accepting()) return false;
  const int64_t emission_us = std::max<int64_t>(1, policy.emission_ns / 1000);
  std::vector<std::string> args = {"EVALSHA",
                                   ScriptSha1(),
                                   "1",
                                   key_prefix_ + key,
                                   absl::StrFormat("%d", emission_us),
                                   absl::StrFormat("%d", policy.capacity)};
  Run(client_, std::move(args), true, std::move(callback));
  return true;
}

void RedisRateLimiter::Run(std::shared_ptr<RedisClient> client, std::vector<std::string> args,
                           bool by_sha, Callback callback) {
  std::vector<std::string> retry;
  if (by_sha) {
    retry = args;
    retry[0] = "EVAL";
    retry[1] = Script();
  }
  RedisClient* target = client.get();
  auto on_reply = [this, client, retry = std::move(retry),
                   callback](absl::StatusOr<RedisReply> reply) mutable {
    if (!reply.ok()) {
      callback(reply.status());
      return;
    }
    if (reply->type == RedisReply::Type::kError && reply->str.rfind("NOSCRIPT", 0) == 0 &&
        !retry.empty()) {
      if (client->accepting()) {
        Run(client, std::move(retry), false, std::move(callback));
      } else {
        callback(absl::UnavailableError("redis: cannot load the rate-limit script"));
      }
      return;
    }
    // A replica refuses writes: the node we hold was demoted (a failover we have not heard of).
    if (reply->type == RedisReply::Type::kError &&
        reply->str.find("READONLY") != std::string::npos && sentinel_ != nullptr) {
      sentinel_->OnDemoted(client.get());
    }
    callback(Decode(*reply));
  };
  if (!target->Command(std::move(args), std::move(on_reply))) {
    // Only reachable from a NOSCRIPT retry racing a disconnect (Check tested accepting()).
    callback(absl::UnavailableError("redis: not connected"));
  }
}

}  // namespace edge::l7
