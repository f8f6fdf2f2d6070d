#include "common/dns/answer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace edge::dns {

namespace {

std::string EndpointText(const Endpoint& e) {
  return e.weight == 1 ? e.address.ToString()
                       : absl::StrFormat("%s(w=%d)", e.address.ToString(), e.weight);
}

}  // namespace

std::vector<Endpoint> Normalize(std::vector<Endpoint> endpoints) {
  std::vector<std::pair<std::string, Endpoint>> keyed;
  keyed.reserve(endpoints.size());
  for (Endpoint& e : endpoints) keyed.emplace_back(e.address.ToString(), e);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Endpoint> out;
  std::string last;
  for (auto& [key, e] : keyed) {
    if (!out.empty() && key == last) {
      out.back().weight = std::min(kMaxEndpointWeight, out.back().weight + e.weight);
      continue;
    }
    e.weight = std::clamp<uint32_t>(e.weight, 1, kMaxEndpointWeight);
    out.push_back(e);
    last = key;
  }
  return out;
}

std::vector<Endpoint> EndpointsFromSrv(
    const std::vector<SrvRecord>& records,
    const std::map<std::string, std::vector<net::SocketAddress>>& addresses) {
  auto resolved = [&addresses](const SrvRecord& r) {
    auto it = addresses.find(r.target);
    return it != addresses.end() && !it->second.empty() && r.port != 0;
  };
  // The lowest priority value with something to connect to.
  bool found = false;
  uint16_t priority = 0;
  for (const SrvRecord& r : records) {
    if (!resolved(r)) continue;
    if (!found || r.priority < priority) priority = r.priority;
    found = true;
  }
  if (!found) return {};
  std::vector<const SrvRecord*> group;
  uint32_t max_weight = 0;
  for (const SrvRecord& r : records) {
    if (r.priority != priority || !resolved(r)) continue;
    group.push_back(&r);
    max_weight = std::max<uint32_t>(max_weight, r.weight);
  }
  std::vector<Endpoint> out;
  for (const SrvRecord* r : group) {
    uint32_t weight = r->weight;
    if (max_weight > kMaxEndpointWeight) {
      weight = static_cast<uint32_t>(uint64_t{weight} * kMaxEndpointWeight / max_weight);
    }
    weight = std::max<uint32_t>(weight, 1);
    for (net::SocketAddress a : addresses.at(r->target)) {
      a.set_port(r->port);
      out.push_back(Endpoint{a, weight});
    }
  }
  return Normalize(std::move(out));
}

EndpointDiff Diff(const std::vector<Endpoint>& before, const std::vector<Endpoint>& after) {
  std::map<std::string, const Endpoint*> old_by_key;
  for (const Endpoint& e : before) old_by_key[e.address.ToString()] = &e;
  EndpointDiff diff;
  for (const Endpoint& e : after) {
    auto it = old_by_key.find(e.address.ToString());
    if (it == old_by_key.end()) {
      diff.added.push_back(e);
      continue;
    }
    if (it->second->weight != e.weight) diff.reweighted.push_back(e);
    old_by_key.erase(it);
  }
  for (const Endpoint& e : before) {
    if (old_by_key.contains(e.address.ToString())) diff.removed.push_back(e);
  }
  return diff;
}

std::string DescribeDiff(const EndpointDiff& diff) {
  std::vector<std::string> parts;
  // StrCat, not "+" + string: GCC 12 warns falsely (-Wrestrict) on the inlined operator+.
  for (const Endpoint& e : diff.added) parts.push_back(absl::StrCat("+", EndpointText(e)));
  for (const Endpoint& e : diff.removed) parts.push_back(absl::StrCat("-", e.address.ToString()));
  for (const Endpoint& e : diff.reweighted) {
    parts.push_back(absl::StrFormat("~%s(w=%d)", e.address.ToString(), e.weight));
  }
  return absl::StrJoin(parts, " ");
}

std::string DescribeEndpoints(const std::vector<Endpoint>& endpoints) {
  std::vector<std::string> parts;
  for (const Endpoint& e : endpoints) parts.push_back(EndpointText(e));
  return absl::StrJoin(parts, " ");
}

}  // namespace edge::dns
