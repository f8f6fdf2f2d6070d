#pragma once
// Socket set-up helpers (blocking-free, synchronous: used at start-up and once per connection).

#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace edge::net {

struct ListenOptions {
  bool reuse_port = true;  // one listening socket per worker thread, balanced by the kernel
  int backlog = 4096;
  bool v6_only = true;  // "[::]:80" does not also take IPv4 (bind "0.0.0.0:80" for that)
};

// socket + SO_REUSEADDR (+ SO_REUSEPORT) + TCP_NODELAY (inherited by every accepted socket) +
// bind + listen. Returns the fd (CLOEXEC).
absl::StatusOr<int> ListenTcp(const SocketAddress& address, const ListenOptions& options);

// A TCP socket of the address's family for an outgoing connection (CLOEXEC, TCP_NODELAY).
absl::StatusOr<int> NewTcpSocket(const SocketAddress& peer);

// The address actually bound (e.g. after binding port 0).
SocketAddress LocalAddress(int fd);
SocketAddress PeerAddress(int fd);

void SetNoDelay(int fd);

}  // namespace edge::net
