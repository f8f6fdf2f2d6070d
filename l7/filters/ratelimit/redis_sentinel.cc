#include "l7/filters/ratelimit/redis_sentinel.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

absl::StatusOr<net::SocketAddress> ParseIpPort(std::string_view ip, std::string_view port_text) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat("bad port \"%s\"", port_text));
  }
  return net::SocketAddress::ParseIp(ip, static_cast<uint16_t>(port));
}

}  // namespace

absl::StatusOr<net::SocketAddress> ParseSentinelMasterAddress(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kNil) {
    return absl::NotFoundError("the sentinel does not monitor that master");
  }
  if (reply.type == RedisReply::Type::kError) {
    return absl::InvalidArgumentError("error reply: " + reply.str);
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[0].type != RedisReply::Type::kString ||
      reply.elements[1].type != RedisReply::Type::kString) {
    return absl::InvalidArgumentError("unexpected reply to SENTINEL get-master-addr-by-name");
  }
  return ParseIpPort(reply.elements[0].str, reply.elements[1].str);
}

absl::StatusOr<std::string> ParseRoleReply(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kError) {
    return absl::InvalidArgumentError("error reply to ROLE: " + reply.str);
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty() ||
      (reply.elements[0].type != RedisReply::Type::kString &&
       reply.elements[0].type != RedisReply::Type::kStatus)) {
    return absl::InvalidArgumentError("unexpected reply to ROLE");
  }
  return reply.elements[0].str;
}

std::optional<net::SocketAddress> ParseSwitchMasterMessage(const RedisReply& reply,
                                                           const std::string& master) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3) return std::nullopt;
  for (const RedisReply& e : reply.elements) {
    if (e.type != RedisReply::Type::kString) return std::nullopt;
  }
  if (reply.elements[0].str != "message" || reply.elements[1].str != "+switch-master") {
    return std::nullopt;
  }
  std::vector<std::string> parts = absl::StrSplit(reply.elements[2].str, ' ');
  if (parts.size() != 5 || parts[0] != master) return std::nullopt;
  auto address = ParseIpPort(parts[3], parts[4]);
  if (!address.ok()) return std::nullopt;
  return *address;
}

RedisSentinel::RedisSentinel(uring::EventLoop* loop, Options options, PrimaryCallback on_primary)
    : loop_(loop),
      options_(std::move(options)),
      on_primary_(std::move(on_primary)),
      timer_(&TimerThunk, this) {
  if (options_.primary_stats == nullptr) {
    options_.primary_stats = std::make_shared<RedisClientStats>();
  }
  subscription_down_logged_.assign(options_.sentinels.size(), false);
  for (size_t i = 0; i < options_.sentinels.size(); ++i) Subscribe(i);
  Ask();
}

RedisSentinel::~RedisSentinel() {
  token_.reset();  // no callback of ours runs from here on, not even those Shutdown triggers
  loop_->timers().Cancel(&timer_);
  for (auto* client : {&primary_, &candidate_, &question_}) {
    if (*client != nullptr) (*client)->Shutdown();
  }
  for (auto& client : subscriptions_) client->Shutdown();
}

std::string RedisSentinel::primary_address() const {
  return primary_ != nullptr ? primary_->address().ToString() : std::string();
}

RedisClient::Options RedisSentinel::ClientOptions(const net::SocketAddress& address) const {
  RedisClient::Options o;
  o.address = address;
  o.credentials = options_.sentinel_credentials;
  o.timeout = options_.timeout;
  o.connect_timeout = options_.connect_timeout;
  o.reconnect = false;
  o.log_failures = false;
  return o;
}

void RedisSentinel::ScheduleAfter(absl::Duration delay) {
  loop_->timers().Schedule(&timer_, loop_->now_ns() + absl::ToInt64Nanoseconds(delay));
}

void RedisSentinel::OnTimer() {
  if (primary_lost_) {
    primary_lost_ = false;
    LosePrimary("connection lost");
  }
  if (primary_ != nullptr) {
    // The periodic re-check also proves each subscription alive: a sentinel that stopped
    // answering (no RST, e.g. a partition) is closed by the client's stall detection and
    // subscribed again, instead of silently missing the next +switch-master.
    for (auto& subscription : subscriptions_) {
      if (subscription->connected()) {
        subscription->Command({"PING"}, [](absl::StatusOr<RedisReply>) {});
      }
    }
  }
  Ask();
}

void RedisSentinel::Ask() {
  if (question_ != nullptr || options_.sentinels.empty()) return;
  const size_t index = next_sentinel_ % options_.sentinels.size();
  question_ = RedisClient::Create(loop_, ClientOptions(options_.sentinels[index]));
  std::weak_ptr<int> alive = token_;
  const bool taken = question_->Command({"SENTINEL", "get-master-addr-by-name", options_.master},
                                        [this, alive, index](absl::StatusOr<RedisReply> reply) {
                                          if (alive.expired()) return;
                                          OnAnswer(index, std::move(reply));
                                        });
  if (!taken) OnAnswer(index, absl::UnavailableError("cannot open a connection"));
}

void RedisSentinel::OnAnswer(size_t index, absl::StatusOr<RedisReply> reply) {
  // Runs inside the question's own callback: the client keeps itself alive until its I/O is done.
  if (question_ != nullptr) {
    question_->Shutdown();
    question_.reset();
  }
  const std::string sentinel = options_.sentinels[index].ToString();
  absl::Status error;
  if (reply.ok()) {
    absl::StatusOr<net::SocketAddress> address = ParseSentinelMasterAddress(*reply);
    if (address.ok()) {
      if (outage_logged_) LOG_INFO("redis sentinel %s: sentinels answer again", options_.master);
      outage_logged_ = false;
      failed_in_round_ = 0;
      next_sentinel_ = index;
      TryCandidate(*address);
      return;
    }
    error = address.status();
  } else {
    error = reply.status();
  }
  ++stats_.sentinel_errors;
  last_error_ = absl::StrFormat("%s: %s", sentinel, error.message());
  LOG_DEBUG("redis sentinel %s: %s", options_.master, last_error_);
  next_sentinel_ = index + 1;
  if (++failed_in_round_ >= options_.sentinels.size()) {
    failed_in_round_ = 0;
    if (!outage_logged_) {
      LOG_WARN("redis sentinel %s: no sentinel named the primary (last: %s); asking again every %s",
               options_.master, last_error_, absl::FormatDuration(options_.retry_interval));
      outage_logged_ = true;
    }
    ScheduleAfter(options_.retry_interval);
    return;
  }
  Ask();
}

void RedisSentinel::TryCandidate(const net::SocketAddress& address) {
  if (primary_ != nullptr && primary_->address() == address && primary_->connected() &&
      !primary_lost_) {
    ScheduleAfter(options_.recheck_interval);
    return;
  }
  if (primary_ != nullptr && !(primary_->address() == address)) {
    LosePrimary(absl::StrFormat("the sentinels name %s", address.ToString()));
  }
  if (candidate_ != nullptr) {
    if (candidate_->address() == address) return;  // already being verified
    candidate_->Shutdown();
    candidate_.reset();
  }
  RedisClient::Options o = ClientOptions(address);
  o.stats = options_.primary_stats;
  o.credentials = options_.primary_credentials;
  candidate_ = RedisClient::Create(loop_, o);
  if (!candidate_->accepting()) {  // no socket at all: try again later
    candidate_.reset();
    ScheduleAfter(options_.retry_interval);
    return;
  }
  std::weak_ptr<int> alive = token_;
  candidate_->set_connect_hook([this, alive](RedisClient& client) {
    if (alive.expired()) return;
    RedisClient* c = &client;
    client.Command({"ROLE"}, [this, alive, c](absl::StatusOr<RedisReply> reply) {
      if (alive.expired()) return;
      OnRole(c, std::move(reply));
    });
  });
  candidate_->set_close_hook([this, alive](RedisClient& client, const std::string& reason) {
    if (alive.expired()) return;
    if (&client == primary_.get()) {
      // Let it go from the timer, not from inside the client's own failure handling.
      primary_lost_ = true;
      ScheduleAfter(absl::ZeroDuration());
    } else if (&client == candidate_.get()) {
      // Retried every retry_interval: a lasting cause (AUTH refused: a wrong password_file) is
      // logged once, not at every try.
      if (reason != candidate_error_) {
        LOG_WARN("redis sentinel %s: candidate %s: %s", options_.master,
                 client.address().ToString(), reason);
        candidate_error_ = reason;
      }
      candidate_.reset();  // alive until its I/O completes
      ScheduleAfter(options_.retry_interval);
    }
  });
}

void RedisSentinel::OnRole(RedisClient* client, absl::StatusOr<RedisReply> reply) {
  if (client != candidate_.get()) return;
  absl::StatusOr<std::string> role =
      reply.ok() ? ParseRoleReply(*reply) : absl::StatusOr<std::string>(reply.status());
  if (!role.ok() || *role != "master") {
    ++stats_.stale_candidates;
    LOG_DEBUG("redis sentinel %s: %s is not the primary (%s)", options_.master,
              client->address().ToString(), role.ok() ? *role : role.status().message());
    candidate_->Shutdown();
    candidate_.reset();
    ScheduleAfter(options_.retry_interval);
    return;
  }
  std::shared_ptr<RedisClient> old = std::move(primary_);
  if (old != nullptr) old->Shutdown();
  primary_ = std::move(candidate_);
  primary_lost_ = false;
  candidate_error_.clear();
  const net::SocketAddress& address = primary_->address();
  if (last_primary_.has_value() && !(*last_primary_ == address)) {
    ++stats_.failovers;
    LOG_WARN("redis sentinel %s: primary switched from %s to %s", options_.master,
             last_primary_->ToString(), address.ToString());
  } else if (last_primary_.has_value()) {
    LOG_INFO("redis sentinel %s: primary %s is back", options_.master, address.ToString());
  } else {
    LOG_INFO("redis sentinel %s: primary is %s", options_.master, address.ToString());
  }
  last_primary_ = address;
  on_primary_(primary_);
  ScheduleAfter(options_.recheck_interval);
}

void RedisSentinel::LosePrimary(const std::string& why) {
  if (primary_ == nullptr) return;
  LOG_WARN(
      "redis sentinel %s: leaving primary %s (%s); the failure policy applies until the next "
      "one is verified",
      options_.master, primary_->address().ToString(), why);
  std::shared_ptr<RedisClient> old = std::move(primary_);
  on_primary_(nullptr);
  old->Shutdown();
}

void RedisSentinel::OnDemoted(const RedisClient* client) {
  if (client == nullptr || client != primary_.get()) return;
  LosePrimary("it answered READONLY");
  ScheduleAfter(absl::ZeroDuration());
}

void RedisSentinel::Subscribe(size_t index) {
  RedisClient::Options o = ClientOptions(options_.sentinels[index]);
  o.reconnect = true;  // a subscription is kept, whatever happens
  o.timeout = std::max(options_.timeout, absl::Seconds(1));
  o.min_backoff = absl::Milliseconds(100);
  o.max_backoff = absl::Seconds(2);
  auto client = RedisClient::Create(loop_, o);
  std::weak_ptr<int> alive = token_;
  client->set_connect_hook([this, alive, index](RedisClient& c) {
    if (alive.expired()) return;
    c.Command({"SUBSCRIBE", "+switch-master"},
              [this, alive, index](absl::StatusOr<RedisReply> reply) {
                if (alive.expired()) return;
                if (reply.ok() && reply->type == RedisReply::Type::kArray) {
                  if (subscription_down_logged_[index]) {
                    LOG_INFO("redis sentinel %s: subscribed to %s again", options_.master,
                             options_.sentinels[index].ToString());
                  }
                  subscription_down_logged_[index] = false;
                }
              });
  });
  client->set_close_hook([this, alive, index](RedisClient& c, const std::string& reason) {
    if (alive.expired()) return;
    ++stats_.sentinel_errors;
    if (!subscription_down_logged_[index]) {
      LOG_WARN("redis sentinel %s: sentinel %s: %s (subscription to +switch-master retried)",
               options_.master, c.address().ToString(), reason);
      subscription_down_logged_[index] = true;
    }
  });
  client->set_push_handler([this, alive](RedisClient& c, RedisReply reply) {
    if (alive.expired()) return;
    std::optional<net::SocketAddress> address = ParseSwitchMasterMessage(reply, options_.master);
    if (!address.has_value()) return;
    ++stats_.switch_messages;
    LOG_DEBUG("redis sentinel %s: %s announces +switch-master to %s", options_.master,
              c.address().ToString(), address->ToString());
    TryCandidate(*address);
  });
  subscriptions_.push_back(std::move(client));
}

}  // namespace edge::l7
