#pragma once
// UpstreamConnection: one TCP connection from gw7 to an upstream server, driven by the gateway's
// io_uring loop. It connects, sends what its owner queues (in order, one send in flight), and
// receives into a fixed buffer that it hands to the owner; the owner copies what it keeps.
//
// Ownership: the object deletes itself once Close() was called and every operation it submitted
// has completed (completion.h's rule). While a request uses it, its Owner gets the events; while
// it sits idle in a ConnectionPool it has no owner, and anything the server sends then (bytes or
// EOF) means the connection is no longer usable: it closes and leaves the pool.
//
// Backpressure: PauseRead() stops re-arming the receive so that a slow client does not make the
// gateway buffer a fast server's response; queued() tells the owner how much it has not yet sent.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/uring/completion.h"
#include "common/uring/event_loop.h"
#include "l7/upstream/connection_pool.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class UpstreamConnection final : public uring::IoHandler, public UpstreamLink {
 public:
  using Owner = UpstreamLink::Owner;

  static constexpr size_t kRecvBufferSize = 32 * 1024;

  // Creates the socket and submits the connect. The owner hears OnUpstreamConnected.
  static absl::StatusOr<UpstreamConnection*> Connect(uring::EventLoop* loop,
                                                     const net::SocketAddress& server,
                                                     Owner* owner);

  void set_owner(Owner* owner) override { owner_ = owner; }
  // Queues bytes; they go out once connected, in order.
  void Send(std::string_view data) override;
  // Between Cork() and Uncork() Send() only queues, so that a request's head and the first part
  // of its body leave in one send (one segment, one completion) instead of two.
  void Cork() override { corked_ = true; }
  void Uncork() override;
  size_t queued() const override { return pending_.size() + (sending_.size() - sent_); }
  void PauseRead() override;
  void ResumeRead() override;
  // Half-close (a tunnel whose client has stopped sending): once everything queued has been
  // sent, shut the write side; reading goes on until the server closes. Send() after it is
  // ignored.
  void ShutdownWrite() override;
  // Detaches the owner and closes; the object goes away when its operations complete.
  void Close() override;
  void CloseIdle() override { Close(); }
  // After the loop has stopped for good (process shutdown) no completion will ever arrive:
  // from then on, Close() on this thread deletes the connection at once instead of waiting.
  static void LoopStopped();

  bool connected() const override { return connected_; }
  bool closed() const override { return closing_; }
  uint64_t requests() const { return requests_; }
  void CountRequest() override { ++requests_; }
  const net::SocketAddress& server() const override { return server_; }

 private:
  enum Op : uint8_t { kOpConnect = 1, kOpRecv = 2, kOpSend = 3, kOpClose = 4 };
  UpstreamConnection(uring::EventLoop* loop, int fd, const net::SocketAddress& server,
                     Owner* owner);
  ~UpstreamConnection() override;
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  void ArmRecv();
  void FlushSend();
  void Fail(int error);  // tells the owner, then closes

  uring::EventLoop* loop_;
  int fd_;
  net::SocketAddress server_;
  Owner* owner_;
  std::unique_ptr<char[]> recv_buffer_;
  std::string pending_;  // queued, not yet submitted
  std::string sending_;  // submitted; sent_ bytes of it done
  size_t sent_ = 0;
  int inflight_ = 0;
  uint64_t requests_ = 0;
  bool connected_ = false;
  bool recv_armed_ = false;
  bool last_recv_full_ = false;
  bool send_armed_ = false;
  bool read_paused_ = false;
  bool corked_ = false;
  bool shutdown_write_ = false;  // ShutdownWrite() was called
  bool write_shut_ = false;      // and the socket's write side is shut
  bool closing_ = false;
  bool close_submitted_ = false;
};

}  // namespace edge::l7
