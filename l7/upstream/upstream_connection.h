#pragma once
// UpstreamConnection: one TCP connection from gw7 to an upstream server: an UpstreamLink over a
// StreamSocket (common/uring/stream_socket.h, which does the I/O: connect, the multishot receive
// into the loop's provided buffer ring, one send in flight, backpressure, half-close, deferred
// deletion). What it adds is the link's contract: events go to the current Owner; while it sits
// idle in a ConnectionPool it has no owner, and anything the server sends then (bytes or EOF)
// means the connection is no longer usable: it closes and leaves the pool.
//
// Ownership: the object deletes itself once Close() was called and its socket is released.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "common/uring/stream_socket.h"
#include "l7/upstream/connection_pool.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class UpstreamConnection final : public UpstreamLink, private uring::StreamSocket::Handler {
 public:
  using Owner = UpstreamLink::Owner;

  // Creates the socket and submits the connect. The owner hears OnUpstreamConnected. `buffers`
  // (may be null: single recvs only) is the loop's ring; it must outlive the connection.
  static absl::StatusOr<UpstreamConnection*> Connect(uring::EventLoop* loop,
                                                     const net::SocketAddress& server, Owner* owner,
                                                     uring::ProvidedBufferRing* buffers = nullptr);

  void set_owner(Owner* owner) override { owner_ = owner; }
  void Send(std::string_view data) override { socket_.Send(data); }
  void Cork() override { socket_.Cork(); }
  void Uncork() override { socket_.Uncork(); }
  size_t queued() const override { return socket_.queued(); }
  void PauseRead() override { socket_.PauseRead(); }
  void ResumeRead() override { socket_.ResumeRead(); }
  void ShutdownWrite() override { socket_.ShutdownWrite(); }
  // Detaches the owner and closes; the object goes away when its socket is released.
  void Close() override;
  void CloseIdle() override { Close(); }

  bool connected() const override { return socket_.connected(); }
  bool closed() const override { return socket_.closed(); }
  uint64_t requests() const { return requests_; }
  void CountRequest() override { ++requests_; }
  const net::SocketAddress& server() const override { return server_; }

 private:
  UpstreamConnection(uring::EventLoop* loop, const net::SocketAddress& server, Owner* owner,
                     uring::ProvidedBufferRing* buffers)
      : socket_(loop, this, buffers), server_(server), owner_(owner) {}
  ~UpstreamConnection() override = default;
  // Forgets the owner and leaves the pool (the connection is ending); returns the owner.
  Owner* Detach();
  // Tells the owner (if any) that the connection ended, after leaving the pool.
  void Ended(int error);

  // uring::StreamSocket::Handler
  void OnSocketConnected(int error) override;
  void OnSocketData(std::string_view data) override;
  void OnSocketEnd(int error) override { Ended(error); }
  void OnSocketSendDrained() override;
  void OnSocketReleased() override { delete this; }

  uring::StreamSocket socket_;
  net::SocketAddress server_;
  Owner* owner_;
  uint64_t requests_ = 0;
};

}  // namespace edge::l7
