#pragma once
// DnsTarget: a backend or upstream server given by name instead of by address, as the configs
// spell it:
//   "api.internal:8080"          host name and port: its A and AAAA records, all on that port
//   srv = "_http._tcp.api.internal"   an SRV name: its records give targets, ports and weights
//
// Names are checked strictly (RFC 1123 host names: labels of letters, digits and '-', not
// starting or ending with '-', at most 63 bytes each and 253 in all, the last label not all
// digits, so that a mistyped IPv4 address such as "10.0.0.300" is an address error, not a name).
// Names are lowercased: DNS compares them without case, and one spelling keeps caches and logs
// consistent.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace edge::dns {

struct DnsTarget {
  enum class Kind { kHost, kSrv };
  Kind kind = Kind::kHost;
  std::string name;   // lowercase, without a trailing dot
  uint16_t port = 0;  // kHost: 1..65535; kSrv: 0 (the records carry the ports)

  // "api.internal:8080" or "srv:_http._tcp.api.internal": unique per target, used as its key in
  // caches, logs, /status and metrics labels.
  std::string ToString() const;
  friend bool operator==(const DnsTarget&, const DnsTarget&) = default;
  friend auto operator<=>(const DnsTarget& a, const DnsTarget& b) {
    return a.ToString() <=> b.ToString();
  }
};

// True when `name` is a valid host name as described above (a trailing dot is not accepted).
bool IsHostName(std::string_view name);

// Parses "host.name:port". InvalidArgument saying why when `text` is not a host name with a port
// in 1..65535. Callers try an IP address first: this accepts names only.
absl::StatusOr<DnsTarget> ParseHostTarget(std::string_view text);

// Parses an SRV name: "_service._proto.name" (RFC 2782; e.g. "_http._tcp.api.internal").
absl::StatusOr<DnsTarget> ParseSrvTarget(std::string_view text);

}  // namespace edge::dns
