#pragma once
// BackendConnector: how a client connection (RelayConnection, every listener mode) gets its
// backend. It picks a backend of
// the pool (skipping those this connection already failed on), connects to it with io_uring
// within the pool's connect_timeout, and after a failed or timed-out connect moves on to the next
// backend until connect_retries are used up. Every failure is counted (connect_failures,
// connect_timeouts, the backend's own count) and fed to passive health. A step after the TCP
// connect that the owner runs itself (the TLS handshake with the backend) can fail the same way,
// through Retry().
//
// The owner keeps its single timer and its count of operations in flight; the connector submits
// the connect as the owner's operation `op` and schedules/cancels the owner's timer for it. The
// owner calls, from its completion and timer handlers: OnConnect(res) for `op`, OnTimeout()
// while connecting. After every call the owner copies fd() into its own descriptor slot (-1 after
// kFailed), so that its Abort can cancel a connect in flight and its end closes the socket. The
// connector holds the reference on the backend (its active count) until Release().

#include <cstdint>
#include <memory>
#include <vector>

#include "common/net/address.h"
#include "common/uring/completion.h"
#include "common/uring/timer_wheel.h"
#include "l4/balancer/backend.h"

namespace edge::l4 {

class Worker;
struct Pool;

class BackendConnector {
 public:
  enum class Outcome : uint8_t {
    kConnecting,  // a connect is in flight (one more operation of the owner's)
    kConnected,   // the socket fd() is connected; the owner owns it now
    kFailed,      // no backend left, retries used up or a local error: failure() says which
  };

  BackendConnector(Worker* worker, uring::IoHandler* owner, uint8_t op, uring::Timer* timer)
      : worker_(worker), owner_(owner), op_(op), timer_(timer) {}

  // Starts over for a new client connection (from `client`, for the balancer's hash) on `pool`.
  void Reset(Pool* pool, const net::SocketAddress* client);
  // Picks a backend and submits its connect: kConnecting or kFailed.
  Outcome Connect();
  // The connect's completion: kConnected, or the next attempt's kConnecting, or kFailed.
  Outcome OnConnect(int32_t res);
  // connect_timeout passed: cancels the connect (its completion moves on to the next backend).
  void OnTimeout();
  // The connected backend failed a later step (`why` goes to passive health; `what` is logged):
  // the owner has nothing in flight on fd(), which is closed here. Counted as a connect failure;
  // moves on like OnConnect does: kConnecting or kFailed.
  Outcome Retry(PassiveFailure why, const char* what);
  // Drops the reference on the backend (its active count). The socket is the owner's to close.
  void Release();

  int fd() const { return fd_; }
  Backend* backend() const { return backend_.get(); }
  const char* failure() const { return failure_; }

 private:
  Outcome NextAttempt(PassiveFailure why);

  Worker* const worker_;
  uring::IoHandler* const owner_;
  const uint8_t op_;
  uring::Timer* const timer_;
  Pool* pool_ = nullptr;
  const net::SocketAddress* client_ = nullptr;
  std::shared_ptr<Backend> backend_;
  int backend_index_ = -1;
  int fd_ = -1;
  uint8_t attempts_ = 0;
  bool timed_out_ = false;
  const char* failure_ = "";
  std::vector<bool> tried_;
};

}  // namespace edge::l4
