#include "common/net/socket.h"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::net {

absl::StatusOr<int> ListenTcp(const SocketAddress& address, const ListenOptions& options) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("socket: %s", strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (options.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (!address.is_v4()) {
    int v6only = options.v6_only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  }
  if (bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrFormat("bind %s: %s", address.ToString(), strerror(err)));
  }
  // Linux copies the listener's TCP_NODELAY into every socket it accepts: no setsockopt per
  // connection (one syscall of the few an lb4 relay makes outside its ring).
  SetNoDelay(fd);
  if (listen(fd, options.backlog) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrFormat("listen %s: %s", address.ToString(), strerror(err)));
  }
  return fd;
}

absl::StatusOr<int> NewTcpSocket(const SocketAddress& peer) {
  int fd = socket(peer.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrFormat("socket: %s", strerror(errno)));
  SetNoDelay(fd);
  return fd;
}

SocketAddress LocalAddress(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return SocketAddress();
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

SocketAddress PeerAddress(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return SocketAddress();
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace edge::net
