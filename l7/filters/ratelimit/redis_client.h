#pragma once
// RedisClient: one reused connection to a Redis server, spoken over gw7's io_uring loop without
// ever blocking it (see common/uring/completion.h for the IoHandler contract).
//
// Commands are pipelined: each is appended to an output buffer (RESP arrays of bulk strings) and
// written through a StreamSocket (common/uring/stream_socket.h: one send in flight, the socket's
// receives, deferred release); replies, parsed by hiredis's reader, are matched to
// commands in order. Every command has a deadline (Options::timeout) kept by the loop's timer
// wheel: a late command's callback gets DeadlineExceeded at its deadline and its reply, if it
// ever comes, is dropped. A connection that stops answering altogether (the oldest command is
// `stall_after` late) is closed.
//
// Connection life: connect (non-blocking, io_uring, connect_timeout) -> connected -> on any error
// (refused, reset, EOF, protocol error, stall) every waiting command fails with Unavailable, the
// socket is closed, and a reconnect is tried after a back-off (100 ms doubling to 2 s). While
// disconnected, Command() refuses at once (returns false) so that callers apply their failure
// policy without waiting for a timeout.
//
// Callbacks always run later on the loop thread, never inside Command(). Single-threaded: every
// method must be called on the loop's thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/net/address.h"
#include "common/uring/event_loop.h"
#include "common/uring/stream_socket.h"
#include "common/uring/timer_wheel.h"
#include "l7/filters/ratelimit/redis_credentials.h"

struct redisReader;

namespace edge::l7 {

// A reply, copied out of hiredis's objects.
struct RedisReply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;
};

struct RedisClientStats {
  uint64_t commands = 0;
  uint64_t replies = 0;
  uint64_t timeouts = 0;
  uint64_t refused = 0;        // Command() returned false (not connected, queue full)
  uint64_t connects = 0;       // successful connections
  uint64_t disconnects = 0;    // connections lost or failed attempts
  uint64_t auth_failures = 0;  // AUTH refused (each also counts as a disconnect)
};

class RedisClient final : public std::enable_shared_from_this<RedisClient> {
 public:
  struct Options {
    net::SocketAddress address;
    absl::Duration timeout = absl::Milliseconds(50);
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration stall_after = absl::Seconds(1);  // plus timeout
    size_t max_pending = 4096;
    absl::Duration min_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(2);
    // False: a lost connection or failed attempt is final (no back-off, no reconnect); the close
    // hook tells the owner, which decides where to connect next (RedisSentinel).
    bool reconnect = true;
    // False: failures are not logged here (the owner logs once per outage instead of per attempt).
    bool log_failures = true;
    // Shared by successive clients of one owner, so that counters survive a switch of server.
    std::shared_ptr<RedisClientStats> stats;
    // Sent as the connection's first command, before the connect hook's and queued ones. A
    // refusal (WRONGPASS, a server without a password) closes the connection like any failure.
    std::optional<RedisCredentials> credentials;
  };
  using Callback = std::function<void(absl::StatusOr<RedisReply>)>;
  // Runs after each successful connect, before queued commands are sent (e.g. SCRIPT LOAD).
  using ConnectHook = std::function<void(RedisClient&)>;
  // Runs once a connection is lost or an attempt failed (not on Shutdown), after the waiting
  // commands have failed. It must not destroy the client (defer that to a timer).
  using CloseHook = std::function<void(RedisClient&, const std::string& reason)>;
  // Replies that answer no command: pub/sub messages on a SUBSCRIBEd connection.
  using PushHandler = std::function<void(RedisClient&, RedisReply)>;

  // Starts connecting at once.
  static std::shared_ptr<RedisClient> Create(uring::EventLoop* loop, Options options);
  ~RedisClient();

  // Queues a command. False when it cannot be taken now (not connected or backing off, too many
  // waiting): the callback is then never called. Otherwise the callback runs exactly once, later.
  bool Command(std::vector<std::string> args, Callback callback);
  void set_connect_hook(ConnectHook hook) { connect_hook_ = std::move(hook); }
  void set_close_hook(CloseHook hook) { close_hook_ = std::move(hook); }
  // Without a push handler, an unrequested reply is a protocol error that closes the connection.
  void set_push_handler(PushHandler handler) { push_handler_ = std::move(handler); }

  // Closes the connection for good: waiting commands fail, no reconnect. The object stays alive
  // (it holds a reference to itself) until its last io_uring operation has completed.
  void Shutdown();

  bool connected() const { return state_ == State::kConnected; }
  // Whether Command() would take a command now.
  bool accepting() const;
  const RedisClientStats& stats() const { return *stats_; }
  const net::SocketAddress& address() const { return options_.address; }
  // No socket open or closing (tests wait for this before destroying the loop).
  bool idle() const { return connection_ == nullptr; }
  // RedisClient objects alive in the process (tests wait for 0 before destroying a loop whose
  // clients they cannot reach, e.g. those a RedisSentinel made).
  static size_t live_count();

 private:
  class Connection;
  enum class State { kConnecting, kConnected, kClosing, kBackoff, kShutdown };
  struct Pending {
    Callback callback;
    int64_t deadline_ns;
    bool done = false;  // the callback already ran (timed out)
  };

  RedisClient(uring::EventLoop* loop, Options options);
  void StartConnect();
  // The socket's events (through Connection).
  void OnConnect(int error);
  void OnData(std::string_view data);
  void OnReleased();
  void MaybeSend();
  void Fail(const std::string& reason);  // closes the connection, fails waiting commands
  void MaybeFinishClose();
  void OnRequestTimer();
  void OnConnectTimer();
  void ScheduleRequestTimer();
  void Deliver(RedisReply reply);
  // Puts AUTH in front of whatever was queued while connecting.
  void Authenticate();
  static void RequestTimerThunk(void* self) { static_cast<RedisClient*>(self)->OnRequestTimer(); }
  static void ConnectTimerThunk(void* self) { static_cast<RedisClient*>(self)->OnConnectTimer(); }

  uring::EventLoop* loop_;
  Options options_;
  State state_ = State::kConnecting;
  // The current attempt's socket, until it is released (it keeps this client alive till then).
  Connection* connection_ = nullptr;
  bool shutting_down_ = false;
  std::string out_;  // queued while connecting (AUTH goes in front once connected)
  redisReader* reader_ = nullptr;
  std::deque<Pending> pending_;
  int64_t backoff_ns_ = 0;
  uring::Timer request_timer_;
  uring::Timer connect_timer_;
  ConnectHook connect_hook_;
  CloseHook close_hook_;
  PushHandler push_handler_;
  std::shared_ptr<RedisClientStats> stats_;
};

// RESP encoding of a command: *N\r\n then $len\r\narg\r\n per argument.
void AppendRespCommand(const std::vector<std::string>& args, std::string* out);

}  // namespace edge::l7
