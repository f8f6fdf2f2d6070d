#pragma once
// UpstreamConnection: one TCP connection from gw7 to an upstream server, driven by the gateway's
// io_uring loop. It connects, sends what its owner queues (in order, one send in flight), and
// hands what it receives to the owner, which copies what it keeps.
//
// Receiving: with the loop's provided buffer ring, one multishot recv stays armed for the
// connection's life: each arrival completes into a ring buffer that goes back to the kernel as
// soon as the owner has seen it, so a request/response exchange costs no re-arming (no submit,
// no poll set up again) and an idle connection holds no receive buffer. When the ring is empty
// (-ENOBUFS) or there is no ring, a single recv into a buffer of the connection's own is used.
//
// Ownership: the object deletes itself once Close() was called and every operation it submitted
// has completed (completion.h's rule). While a request uses it, its Owner gets the events; while
// it sits idle in a ConnectionPool it has no owner, and anything the server sends then (bytes or
// EOF) means the connection is no longer usable: it closes and leaves the pool.
//
// Backpressure: PauseRead() cancels the multishot receive (or stops re-arming a single one) so
// that a slow client does not make the gateway buffer a fast server's response; bytes that were
// already on their way are held (at most a few buffers) and handed over, from the loop, after
// ResumeRead(). queued() tells the owner how much it has not yet sent.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/completion.h"
#include "common/uring/event_loop.h"
#include "l7/upstream/connection_pool.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class UpstreamConnection final : public uring::IoHandler, public UpstreamLink {
 public:
  using Owner = UpstreamLink::Owner;

  static constexpr size_t kRecvBufferSize = 32 * 1024;
  // Bytes one multishot arming may take from the ring before it ends and is armed again.
  static constexpr unsigned kMultishotCap = 64 * 1024;

  // Creates the socket and submits the connect. The owner hears OnUpstreamConnected. `buffers`
  // (may be null: single recvs only) is the loop's ring; it must outlive the connection.
  static absl::StatusOr<UpstreamConnection*> Connect(uring::EventLoop* loop,
                                                     const net::SocketAddress& server, Owner* owner,
                                                     uring::ProvidedBufferRing* buffers = nullptr);

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
  enum Op : uint8_t { kOpConnect = 1, kOpRecv = 2, kOpSend = 3, kOpClose = 4, kOpHeld = 5 };
  UpstreamConnection(uring::EventLoop* loop, int fd, const net::SocketAddress& server, Owner* owner,
                     uring::ProvidedBufferRing* buffers);
  ~UpstreamConnection() override;
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  void ArmRecv();
  void OnRecv(int32_t res, uint32_t flags);
  // Received bytes: to the owner, held while paused, or the end of an idle pooled connection.
  void Deliver(std::string_view data);
  void FlushSend();
  void Fail(int error);  // tells the owner, then closes

  uring::EventLoop* loop_;
  int fd_;
  net::SocketAddress server_;
  Owner* owner_;
  uring::ProvidedBufferRing* buffers_;   // null: single recvs into recv_buffer_
  std::unique_ptr<char[]> recv_buffer_;  // made on first use
  std::string held_;                     // received while paused
  std::string pending_;                  // queued, not yet submitted
  std::string sending_;                  // submitted; sent_ bytes of it done
  size_t sent_ = 0;
  int inflight_ = 0;
  uint64_t requests_ = 0;
  bool connected_ = false;
  bool recv_armed_ = false;
  bool multishot_ = false;         // the armed recv is the multishot one
  bool multishot_capped_ = false;  // and was armed with kMultishotCap
  bool eof_held_ = false;     // the server closed while held_ had bytes: Fail(0) once they are out
  bool ring_empty_ = false;   // the last multishot ended with -ENOBUFS: one single recv next
  bool held_posted_ = false;  // a NOP is on its way to hand held_ over
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
