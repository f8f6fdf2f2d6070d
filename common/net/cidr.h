#pragma once
// Cidr: an IPv4 or IPv6 network ("127.0.0.0/8", "::1/128", "10.1.2.3" = /32, "fe80::1" = /128),
// for access lists such as gw7's trusted_proxies.
//
// Parsing is strict: host bits set below the prefix ("10.0.0.1/8") are refused rather than
// silently masked, because such a typo usually means the author meant a different network. An
// IPv4 network never contains an IPv6 address and vice versa, except that an IPv4-mapped IPv6
// address (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) is matched as its IPv4
// address against IPv4 networks.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace edge::net {

struct Cidr {
  // InvalidArgument naming the text and the problem, e.g. `invalid CIDR "10.0.0.0/33": prefix
  // length must be 0-32 for IPv4`.
  static absl::StatusOr<Cidr> Parse(std::string_view text);

  // True when `a` is an address of this network (its port is ignored).
  bool Contains(const SocketAddress& a) const;

  // "127.0.0.0/8", "::1/128".
  std::string ToString() const;

  bool is_v4 = true;
  int prefix_length = 0;                 // 0-32 (IPv4) or 0-128 (IPv6)
  std::array<uint8_t, 16> network = {};  // network order; IPv4 uses the first 4 bytes
};

// True when one network of the list contains `a` (an access list: trusted_proxies, allow, deny).
bool AnyContains(const std::vector<Cidr>& networks, const SocketAddress& a);

}  // namespace edge::net
