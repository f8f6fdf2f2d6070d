#pragma once
// UpstreamLink: what a request needs of one connection to an upstream server, apart from how it
// does its I/O. UpstreamConnection (io_uring, TCP) is the one implementation in gw7; unit tests
// drive the proxy filter with a fake one and no sockets. UpstreamConnector opens links.
//
// Contract: events go to the current Owner, on the loop thread; a link in a ConnectionPool has no
// owner (anything it hears then makes it close itself and leave the pool). Close() detaches the
// owner: no event follows it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "l7/upstream/connection_pool.h"

namespace edge::l7 {

class UpstreamLink : public IdleConnection {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // The connect finished: 0, or a negative errno.
    virtual void OnUpstreamConnected(UpstreamLink* c, int error) = 0;
    // Bytes from the server; valid only during the call.
    virtual void OnUpstreamData(UpstreamLink* c, std::string_view data) = 0;
    // The server closed (error 0) or the connection failed (negative errno). No more events.
    virtual void OnUpstreamClosed(UpstreamLink* c, int error) = 0;
    // Everything queued so far has been sent.
    virtual void OnUpstreamSendDrained(UpstreamLink* c) = 0;
  };

  virtual void set_owner(Owner* owner) = 0;
  // Queues bytes; they go out once connected, in order.
  virtual void Send(std::string_view data) = 0;
  // Between Cork() and Uncork() Send() only queues (one send for a head and its first body bytes).
  virtual void Cork() = 0;
  virtual void Uncork() = 0;
  // Bytes queued and not yet sent (the request body's backpressure).
  virtual size_t queued() const = 0;
  // Stops / restarts receiving (the response's backpressure: a slow client).
  virtual void PauseRead() = 0;
  virtual void ResumeRead() = 0;
  // Half-close once everything queued has been sent; reading goes on.
  virtual void ShutdownWrite() = 0;
  // Detaches the owner and closes.
  virtual void Close() = 0;
  virtual bool connected() const = 0;
  virtual bool closed() const = 0;
  virtual void CountRequest() = 0;
  virtual const net::SocketAddress& server() const = 0;
};

// Opens links: the gateway's loop in gw7, a fake in unit tests.
class UpstreamConnector {
 public:
  virtual ~UpstreamConnector() = default;
  // Starts a connect; the owner hears OnUpstreamConnected. An error means no link was made.
  virtual absl::StatusOr<UpstreamLink*> Connect(const net::SocketAddress& server,
                                                UpstreamLink::Owner* owner) = 0;
};

}  // namespace edge::l7
