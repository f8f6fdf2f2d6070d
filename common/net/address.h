#pragma once
// SocketAddress: an IPv4 or IPv6 address and port, parsed from and printed as "1.2.3.4:80" or
// "[::1]:80". The one address type used by configs, sockets, balancers and the PROXY codec.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace edge::net {

class SocketAddress {
 public:
  SocketAddress();  // AF_UNSPEC; valid() is false

  // Accepts "IPv4:port" or "[IPv6]:port" with a port from 0 to 65535; nothing else (no names).
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);
  // Accepts a bare IP ("10.0.0.1", "::1") with the given port.
  static absl::StatusOr<SocketAddress> ParseIp(std::string_view ip, uint16_t port);
  // From a kernel sockaddr (accept, getsockname). Unknown families give an invalid address.
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);
  // From raw network-order bytes: 4 for IPv4, 16 for IPv6.
  static SocketAddress FromBytes(std::string_view ip_bytes, uint16_t port);

  bool valid() const { return family() == AF_INET || family() == AF_INET6; }
  int family() const { return storage_.sa.sa_family; }
  bool is_v4() const { return family() == AF_INET; }
  uint16_t port() const;
  void set_port(uint16_t port);

  const sockaddr* sockaddr_ptr() const { return &storage_.sa; }
  socklen_t length() const;

  // The address bytes in network order: 4 (IPv4) or 16 (IPv6); empty when invalid.
  std::string_view IpBytes() const;
  std::string IpString() const;  // "1.2.3.4" / "::1"
  std::string ToString() const;  // "1.2.3.4:80" / "[::1]:80"

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  // Only what IPv4 and IPv6 need (28 bytes, not sockaddr_storage's 128): connections keep their
  // peers' addresses (gw7's client connection two, lb4's relay one), idle ones included.
  union Storage {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  };
  Storage storage_;
};

}  // namespace edge::net
