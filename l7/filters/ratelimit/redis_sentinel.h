#pragma once
// RedisSentinel: finds the Redis primary through Redis Sentinel ([redis] sentinels + master) and
// follows it through failovers, on gw7's io_uring loop without ever blocking it.
//
// How the primary is found: one sentinel at a time is asked `SENTINEL get-master-addr-by-name
// MASTER` (a short-lived connection per question; a sentinel that refuses, times out, errs or
// does not know the master is counted and the next one is asked). The address it names becomes a
// candidate: a connection that first sends `ROLE`; only a candidate that answers "master" is
// handed to the owner (on_primary) and used for commands. One that answers "slave" (a sentinel
// with a stale view) is dropped and the question is asked again shortly.
//
// How a failover is followed, fastest first:
//  - every sentinel is SUBSCRIBEd to `+switch-master` (one connection each, reconnecting with
//    back-off): the message names the new primary, which becomes the candidate at once. The old
//    primary is let go at the same moment, so no write lands on a demoted node;
//  - the primary's connection is lost (a killed primary), or a command is answered READONLY
//    (a primary demoted under us, OnDemoted): the primary is let go and the sentinels are asked;
//  - a periodic re-check (recheck_interval, 5 s by default) asks a sentinel even while all is
//    well. It only catches a switch whose message was missed while every subscription was
//    reconnecting, so it can be slow: at 5 s, 1,000 gw7 processes cost the sentinels 200 cheap
//    questions a second, where 1 s would cost 1,000 and gain nothing the subscriptions do not.
//    Each re-check also PINGs the subscriptions, so a sentinel gone silent is reconnected.
// While no primary is known (between losing one and verifying the next) on_primary(nullptr) has
// been called and the owner applies its failure policy. Questions and candidates that fail are
// retried every retry_interval until one succeeds.
//
// Each switch is logged once (LOG_WARN "primary switched from A to B"); the loss of the primary
// and "no sentinel answered" are logged once per outage, not per attempt.
//
// Single-threaded: every method must be called on the loop's thread. Callbacks from the clients
// are guarded by a token, so destroying this object at any time is safe (it shuts down its
// clients; they live on until their last io_uring operation has completed).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/net/address.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"
#include "l7/filters/ratelimit/redis_client.h"

namespace edge::l7 {

// The reply to SENTINEL get-master-addr-by-name: [ip, port]. NotFound for a nil reply (the
// sentinel does not monitor that name), InvalidArgument for anything else unexpected.
absl::StatusOr<net::SocketAddress> ParseSentinelMasterAddress(const RedisReply& reply);
// The first element of a ROLE reply: "master", "slave" or "sentinel".
absl::StatusOr<std::string> ParseRoleReply(const RedisReply& reply);
// A pub/sub message on +switch-master: ["message", "+switch-master", "NAME OLDIP OLDPORT NEWIP
// NEWPORT"]. The new primary when the message is about `master`; nullopt for another master's
// switch, a subscribe confirmation, or a malformed message.
std::optional<net::SocketAddress> ParseSwitchMasterMessage(const RedisReply& reply,
                                                           const std::string& master);

struct RedisSentinelStats {
  uint64_t failovers = 0;         // the verified primary changed address
  uint64_t sentinel_errors = 0;   // a sentinel refused, timed out, erred, or did not know master
  uint64_t switch_messages = 0;   // +switch-master messages about our master
  uint64_t stale_candidates = 0;  // a named primary that answered ROLE with something else
};

class RedisSentinel {
 public:
  struct Options {
    std::vector<net::SocketAddress> sentinels;
    std::string master;
    absl::Duration timeout = absl::Milliseconds(50);  // per command, sentinels and primary
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration recheck_interval = absl::Seconds(5);
    absl::Duration retry_interval = absl::Milliseconds(200);
    std::shared_ptr<RedisClientStats> primary_stats;       // shared by every primary connection
    std::optional<RedisCredentials> primary_credentials;   // AUTH on the Redis servers
    std::optional<RedisCredentials> sentinel_credentials;  // AUTH on the sentinels
  };
  // The verified primary's client (connected, ROLE master), or null: no primary is known now.
  using PrimaryCallback = std::function<void(std::shared_ptr<RedisClient>)>;

  // Starts at once: subscribes to every sentinel and asks the first one.
  RedisSentinel(uring::EventLoop* loop, Options options, PrimaryCallback on_primary);
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  // A command on `client` was answered READONLY: if it is still the primary, let it go and ask
  // the sentinels again.
  void OnDemoted(const RedisClient* client);

  const RedisSentinelStats& stats() const { return stats_; }
  // "ip:port" of the verified primary in use, "" when none.
  std::string primary_address() const;
  const std::string& master() const { return options_.master; }

 private:
  void Ask();  // asks the next sentinel (one question at a time)
  void OnAnswer(size_t index, absl::StatusOr<RedisReply> reply);
  void TryCandidate(const net::SocketAddress& address);
  void OnRole(RedisClient* client, absl::StatusOr<RedisReply> reply);
  void LosePrimary(const std::string& why);  // on_primary(nullptr) once
  void Subscribe(size_t index);
  void OnTimer();
  void ScheduleAfter(absl::Duration delay);
  static void TimerThunk(void* self) { static_cast<RedisSentinel*>(self)->OnTimer(); }
  RedisClient::Options ClientOptions(const net::SocketAddress& address) const;

  uring::EventLoop* loop_;
  Options options_;
  PrimaryCallback on_primary_;
  std::shared_ptr<int> token_ = std::make_shared<int>(0);  // callbacks hold a weak_ptr to it

  std::shared_ptr<RedisClient> primary_;            // verified, handed to the owner
  std::optional<net::SocketAddress> last_primary_;  // for "switched from A to B"
  std::shared_ptr<RedisClient> candidate_;          // connecting, ROLE not yet answered
  std::shared_ptr<RedisClient> question_;           // the sentinel being asked
  std::vector<std::shared_ptr<RedisClient>> subscriptions_;
  std::vector<bool> subscription_down_logged_;
  size_t next_sentinel_ = 0;    // the next one to ask (starts from the last that answered)
  size_t failed_in_round_ = 0;  // sentinels that failed since the last answer
  bool primary_lost_ = false;   // the primary's connection closed: let it go on the timer
  bool outage_logged_ = false;  // "no sentinel answered" once per outage
  std::string last_error_;
  std::string candidate_error_;  // the last candidate failure logged (cleared by a verified one)
  uring::Timer timer_;
  RedisSentinelStats stats_;
};

}  // namespace edge::l7
