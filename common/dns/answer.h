#pragma once
// What a DnsTarget resolves to, and the pure arithmetic around it (no network here, so all of it
// is unit-tested): SRV records to a weighted endpoint list, and the difference between two
// answers, which decides whether a change must be applied (and what the log says about it).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/dns/target.h"
#include "common/net/address.h"

namespace edge::dns {

// The largest weight the configs accept (lb4 backends, gw7 servers): SRV weights are scaled into
// 1..kMaxEndpointWeight.
inline constexpr uint32_t kMaxEndpointWeight = 10000;

struct Endpoint {
  net::SocketAddress address;
  uint32_t weight = 1;  // 1..kMaxEndpointWeight
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.address == b.address && a.weight == b.weight;
  }
};

struct Answer {
  std::vector<Endpoint> endpoints;  // sorted by address text, unique addresses, never empty
  uint32_t ttl_s = 0;               // the smallest TTL of the records used
};

// Answers of every target, by DnsTarget::ToString().
using AnswerMap = std::map<std::string, Answer>;

struct SrvRecord {
  std::string target;  // host name (lowercase, no trailing dot)
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

// Sorts by address text and merges duplicate addresses (their weights add up, capped at
// kMaxEndpointWeight): two names or two SRV records may lead to one address.
std::vector<Endpoint> Normalize(std::vector<Endpoint> endpoints);

// The endpoints of an SRV answer (RFC 2782): only the lowest priority value whose targets have at
// least one address is used (the other groups are fallbacks, and a resolver that can reach the
// first group must not spread load over them); each target's addresses get the record's port and
// weight. Weights are relative within the group: weight 0 ("rarely, when nothing else") becomes 1
// while some record has a weight, and all-zero groups are equal; groups whose weights exceed
// kMaxEndpointWeight are scaled down proportionally (never below 1). `addresses` holds the
// addresses each target name resolved to (a missing name has none). Empty when nothing resolved.
std::vector<Endpoint> EndpointsFromSrv(
    const std::vector<SrvRecord>& records,
    const std::map<std::string, std::vector<net::SocketAddress>>& addresses);

// What changed between two endpoint lists (both Normalize()d).
struct EndpointDiff {
  std::vector<Endpoint> added;
  std::vector<Endpoint> removed;
  std::vector<Endpoint> reweighted;  // the new weight
  bool empty() const { return added.empty() && removed.empty() && reweighted.empty(); }
};
EndpointDiff Diff(const std::vector<Endpoint>& before, const std::vector<Endpoint>& after);

// "+127.0.0.3:80 -127.0.0.2:80 ~127.0.0.4:80(w=3)" for logs.
std::string DescribeDiff(const EndpointDiff& diff);

// "127.0.0.2:80 127.0.0.3:80(w=3)".
std::string DescribeEndpoints(const std::vector<Endpoint>& endpoints);

}  // namespace edge::dns
