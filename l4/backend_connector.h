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
// The connect goes through the owner's backend uring::StreamSocket; the connector schedules and
// cancels the owner's timer for it. The owner calls, from its socket's and timer's events:
// OnConnected(error) after the connect, OnTimeout() while connecting, Retry() when a later step
// failed. A failed attempt closes the socket: once the owner hears it released, Connect() tries
// the next backend on the same socket object. The connector holds the reference on the backend
// (its active count) until Release().

#include <cstdint>
#include <memory>
#include <vector>

#include "common/net/address.h"
#include "common/uring/stream_socket.h"
#include "common/uring/timer_wheel.h"
#include "l4/balancer/backend.h"

namespace edge::l4 {

class Worker;
struct Pool;

class BackendConnector {
 public:
  enum class Outcome : uint8_t {
    kConnecting,  // the socket's connect is in flight
    kConnected,   // the socket is connected
    kRetry,       // the attempt failed and its socket is closing: Connect() once it is released
    kFailed,      // no backend left, retries used up or a local error: failure() says which
  };

  BackendConnector(Worker* worker, uring::StreamSocket* socket, uring::Timer* timer)
      : worker_(worker), socket_(socket), timer_(timer) {}

  // Starts over for a new client connection (from `client`, for the balancer's hash) on `pool`.
  void Reset(Pool* pool, const net::SocketAddress* client);
  // Picks a backend and submits its connect: kConnecting or kFailed.
  Outcome Connect();
  // The connect finished (0 or a negative errno): kConnected, kRetry or kFailed.
  Outcome OnConnected(int error);
  // connect_timeout passed: the socket is closed (cancelling the connect); kRetry or kFailed.
  Outcome OnTimeout();
  // The connected backend failed a later step (`why` goes to passive health; `what` is logged):
  // counted as a connect failure, the socket closed; kRetry or kFailed.
  Outcome Retry(PassiveFailure why, const char* what);
  // Drops the reference on the backend (its active count).
  void Release();

  Backend* backend() const { return backend_.get(); }
  const char* failure() const { return failure_; }

 private:
  Outcome Failed(PassiveFailure why);

  Worker* const worker_;
  uring::StreamSocket* const socket_;
  uring::Timer* const timer_;
  Pool* pool_ = nullptr;
  const net::SocketAddress* client_ = nullptr;
  std::shared_ptr<Backend> backend_;
  int backend_index_ = -1;
  uint8_t attempts_ = 0;
  const char* failure_ = "";
  std::vector<bool> tried_;
};

}  // namespace edge::l4
