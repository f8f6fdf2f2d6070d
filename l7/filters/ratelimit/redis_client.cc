#include "l7/filters/ratelimit/redis_client.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

std::atomic<size_t> live_clients{0};

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

}  // namespace

// One connection attempt: its socket, and a reference that keeps the client alive until the
// kernel is done with the socket (the client may be dropped by its owner meanwhile). It frees
// itself when the socket is released.
class RedisClient::Connection final : public uring::StreamSocket::Handler {
 public:
  explicit Connection(std::shared_ptr<RedisClient> client)
      : socket(client->loop_, this, nullptr), client_(std::move(client)) {}

  uring::StreamSocket socket;

 private:
  void OnSocketConnected(int error) override { client_->OnConnect(error); }
  void OnSocketData(std::string_view data) override { client_->OnData(data); }
  void OnSocketEnd(int error) override {
    client_->Fail(error == 0 ? std::string("connection closed by the server")
                             : absl::StrFormat("connection lost: %s", strerror(-error)));
  }
  void OnSocketSendDrained() override {}
  void OnSocketReleased() override {
    std::shared_ptr<RedisClient> client = std::move(client_);  // released last, below
    client->OnReleased();
    delete this;
  }

  std::shared_ptr<RedisClient> client_;
};

void AppendRespCommand(const std::vector<std::string>& args, std::string* out) {
  *out += absl::StrFormat("*%d\r\n", args.size());
  for (const std::string& arg : args) {
    *out += absl::StrFormat("$%d\r\n", arg.size());
    *out += arg;
    *out += "\r\n";
  }
}

std::shared_ptr<RedisClient> RedisClient::Create(uring::EventLoop* loop, Options options) {
  std::shared_ptr<RedisClient> client(new RedisClient(loop, std::move(options)));
  client->StartConnect();
  return client;
}

RedisClient::RedisClient(uring::EventLoop* loop, Options options)
    : loop_(loop),
      options_(std::move(options)),
      request_timer_(&RequestTimerThunk, this),
      connect_timer_(&ConnectTimerThunk, this),
      stats_(options_.stats != nullptr ? options_.stats : std::make_shared<RedisClientStats>()) {
  live_clients.fetch_add(1, std::memory_order_relaxed);
}

size_t RedisClient::live_count() { return live_clients.load(std::memory_order_relaxed); }

RedisClient::~RedisClient() {
  live_clients.fetch_sub(1, std::memory_order_relaxed);
  loop_->timers().Cancel(&request_timer_);
  loop_->timers().Cancel(&connect_timer_);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

bool RedisClient::accepting() const {
  return (state_ == State::kConnected || state_ == State::kConnecting) &&
         pending_.size() < options_.max_pending;
}

bool RedisClient::Command(std::vector<std::string> args, Callback callback) {
  if (!accepting()) {
    ++stats_->refused;
    return false;
  }
  ++stats_->commands;
  AppendRespCommand(args, &out_);
  pending_.push_back(Pending{std::move(callback),
                             loop_->now_ns() + absl::ToInt64Nanoseconds(options_.timeout), false});
  if (!request_timer_.armed()) ScheduleRequestTimer();
  MaybeSend();
  return true;
}

void RedisClient::StartConnect() {
  state_ = State::kConnecting;
  auto* connection = new Connection(shared_from_this());
  if (absl::Status started = connection->socket.Connect(options_.address); !started.ok()) {
    delete connection;  // nothing was submitted
    // Out of descriptors: try again after the back-off like any failed attempt.
    Fail(std::string(started.message()));
    return;
  }
  connection_ = connection;
  reader_ = redisReaderCreate();
  loop_->timers().Schedule(&connect_timer_,
                           loop_->now_ns() + absl::ToInt64Nanoseconds(options_.connect_timeout));
}

void RedisClient::OnConnect(int error) {
  if (state_ != State::kConnecting) return;
  loop_->timers().Cancel(&connect_timer_);
  if (error < 0) {
    Fail(absl::StrFormat("connect: %s", strerror(-error)));
    return;
  }
  state_ = State::kConnected;
  ++stats_->connects;
  if (backoff_ns_ != 0) LOG_INFO("redis %s: connected", options_.address.ToString());
  backoff_ns_ = 0;
  if (options_.credentials.has_value()) Authenticate();
  if (connect_hook_) connect_hook_(*this);
  MaybeSend();
}

void RedisClient::Authenticate() {
  const RedisCredentials& c = *options_.credentials;
  std::vector<std::string> args = {"AUTH"};
  if (!c.username.empty()) args.push_back(c.username);
  args.push_back(c.password);
  std::string auth;
  AppendRespCommand(args, &auth);
  out_.insert(0, auth);
  // Deadlines stay in queue order (the request timer relies on it).
  int64_t deadline = loop_->now_ns() + absl::ToInt64Nanoseconds(options_.timeout);
  if (!pending_.empty()) deadline = std::min(deadline, pending_.front().deadline_ns);
  ++stats_->commands;
  pending_.push_front(Pending{[this](absl::StatusOr<RedisReply> reply) {
                                if (!reply.ok()) return;  // no answer: the stall check closes
                                if (reply->type == RedisReply::Type::kError) {
                                  ++stats_->auth_failures;
                                  Fail("AUTH refused: " + reply->str);
                                }
                              },
                              deadline, false});
  ScheduleRequestTimer();
}

void RedisClient::MaybeSend() {
  if (state_ != State::kConnected || out_.empty()) return;
  connection_->socket.Send(out_);
  out_.clear();
}

void RedisClient::OnData(std::string_view data) {
  if (state_ != State::kConnected) return;
  if (redisReaderFeed(reader_, data.data(), data.size()) != REDIS_OK) {
    Fail(absl::StrFormat("reply parse error: %s", reader_->errstr));
    return;
  }
  for (;;) {
    void* object = nullptr;
    if (redisReaderGetReply(reader_, &object) != REDIS_OK) {
      Fail(absl::StrFormat("reply parse error: %s", reader_->errstr));
      return;
    }
    if (object == nullptr) break;
    RedisReply reply = Convert(static_cast<redisReply*>(object));
    freeReplyObject(object);
    Deliver(std::move(reply));
    if (state_ != State::kConnected) return;  // a callback shut us down, or the reply was stray
  }
  MaybeSend();
}

void RedisClient::OnReleased() {
  connection_ = nullptr;
  MaybeFinishClose();
}

void RedisClient::Deliver(RedisReply reply) {
  if (pending_.empty()) {
    if (push_handler_) {
      push_handler_(*this, std::move(reply));
      return;
    }
    Fail("a reply nobody asked for");
    return;
  }
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  ++stats_->replies;
  if (!p.done) p.callback(std::move(reply));
  ScheduleRequestTimer();
}

void RedisClient::ScheduleRequestTimer() {
  if (state_ != State::kConnected && state_ != State::kConnecting) return;
  if (pending_.empty()) {
    loop_->timers().Cancel(&request_timer_);
    return;
  }
  int64_t next = pending_.front().deadline_ns + absl::ToInt64Nanoseconds(options_.stall_after);
  for (const Pending& p : pending_) {
    if (!p.done) {
      next = std::min(next, p.deadline_ns);
      break;
    }
  }
  loop_->timers().Schedule(&request_timer_, next);
}

void RedisClient::OnRequestTimer() {
  const int64_t now = loop_->now_ns();
  if (!pending_.empty() &&
      pending_.front().deadline_ns + absl::ToInt64Nanoseconds(options_.stall_after) <= now) {
    Fail("no reply, closing the connection");
    return;
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& p = pending_[i];
    if (p.done) continue;
    if (p.deadline_ns > now) break;
    p.done = true;
    ++stats_->timeouts;
    Callback callback = std::move(p.callback);
    p.callback = nullptr;
    callback(absl::DeadlineExceededError("redis did not answer in time"));
    if (state_ != State::kConnected && state_ != State::kConnecting) return;
  }
  ScheduleRequestTimer();
}

void RedisClient::OnConnectTimer() {
  if (state_ == State::kConnecting && connection_ != nullptr) {
    Fail("connect timeout");
  } else if (state_ == State::kBackoff) {
    StartConnect();
  }
}

void RedisClient::Fail(const std::string& reason) {
  if (state_ != State::kConnected && state_ != State::kConnecting) return;
  ++stats_->disconnects;
  // One line per lost connection or failed attempt (at most one per back-off period).
  if (!shutting_down_ && options_.log_failures) {
    LOG_WARN("redis %s: %s", options_.address.ToString(), reason);
  }
  state_ = State::kClosing;
  loop_->timers().Cancel(&request_timer_);
  loop_->timers().Cancel(&connect_timer_);
  // Keeps this client alive to the end of this call: closing may release the socket (and with
  // it the connection's reference) at once when the loop has stopped.
  std::shared_ptr<RedisClient> hold = shared_from_this();
  if (connection_ != nullptr) connection_->socket.Close();  // a connect in flight is cancelled
  out_.clear();
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (Pending& p : failed) {
    if (!p.done) p.callback(absl::UnavailableError("redis: " + reason));
  }
  MaybeFinishClose();
  if (!shutting_down_ && close_hook_) close_hook_(*this, reason);
}

void RedisClient::MaybeFinishClose() {
  if (state_ != State::kClosing && state_ != State::kShutdown) return;
  if (connection_ != nullptr) return;  // the socket is not released yet
  if (reader_ != nullptr) {
    redisReaderFree(reader_);
    reader_ = nullptr;
  }
  if (state_ == State::kClosing && !options_.reconnect) {
    state_ = State::kShutdown;
  } else if (state_ == State::kClosing) {
    state_ = State::kBackoff;
    const int64_t min = absl::ToInt64Nanoseconds(options_.min_backoff);
    const int64_t max = absl::ToInt64Nanoseconds(options_.max_backoff);
    backoff_ns_ = backoff_ns_ == 0 ? min : std::min(max, backoff_ns_ * 2);
    loop_->timers().Schedule(&connect_timer_, loop_->now_ns() + backoff_ns_);
  }
}

void RedisClient::Shutdown() {
  if (state_ == State::kShutdown) return;
  if (state_ == State::kConnected || state_ == State::kConnecting) {
    shutting_down_ = true;
    --stats_->disconnects;  // not a failure
    Fail("shut down");
  }
  state_ = State::kShutdown;
  loop_->timers().Cancel(&connect_timer_);
  loop_->timers().Cancel(&request_timer_);
  MaybeFinishClose();
}

}  // namespace edge::l7
