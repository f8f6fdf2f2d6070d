#pragma once
// The [dns] table, the same in edge.toml (lb4) and gateway.toml (gw7): how the backends and
// upstream servers that are given by name (common/dns/target.h) are resolved.
//
//   [dns]
//   resolvers = ["127.0.0.1:5353"]  # DNS servers, "ip" (port 53) or "ip:port"; default: the
//                                   # nameservers of /etc/resolv.conf
//   refresh_min = "1s"              # re-resolve no sooner than this, whatever the TTL (floor)
//   refresh_max = "5m"              # and no later than this (ceiling); also the retry cap
//   timeout = "2s"                  # one query attempt
//   attempts = 2                    # attempts per server before a resolution fails

#include <vector>

#include "absl/time/time.h"
#include "common/config/errors.h"
#include "common/config/toml.h"
#include "common/dns/refresh_policy.h"
#include "common/net/address.h"

namespace edge::dns {

struct DnsConfig {
  std::vector<net::SocketAddress> resolvers;  // at most 16, unique; empty: /etc/resolv.conf
  RefreshBounds refresh;                      // 100ms..24h each, min <= max
  absl::Duration timeout = absl::Seconds(2);  // 10ms..1m
  int attempts = 2;                           // 1..10

  friend bool operator==(const DnsConfig& a, const DnsConfig& b) {
    return a.resolvers == b.resolvers && a.refresh.min == b.refresh.min &&
           a.refresh.max == b.refresh.max && a.timeout == b.timeout && a.attempts == b.attempts;
  }
};

// Reads [dns] (`table`) into `config`; errors (unknown keys, types, ranges, duplicate resolvers,
// refresh_min above refresh_max) go to `errors` as "FILE:LINE:COL: dns: KEY: MESSAGE".
void ReadDnsConfig(const toml::table& table, config::ConfigErrors& errors, DnsConfig* config);

}  // namespace edge::dns
