#pragma once
// ResolveNow: resolves a set of names and waits for all of them, on a short-lived ring of the
// calling thread. For the moments when a program must know the addresses before it goes on: the
// start (lb4 and gw7 build their first pools from the answers) and a SIGHUP reload that names new
// hosts (a reload either applies completely or not at all). Never called on an event-loop thread.

#include <vector>

#include "absl/status/statusor.h"
#include "common/dns/answer.h"
#include "common/dns/dns_config.h"
#include "common/dns/target.h"

namespace edge::dns {

// Every target's answer, or the first failure in `targets` order as "NAME: REASON" (NotFound,
// Unavailable, InvalidArgument as Resolver reports them). Bounded by the resolver's own timeouts
// (timeout x attempts x servers per query; SRV targets add one more round).
absl::StatusOr<AnswerMap> ResolveNow(const std::vector<DnsTarget>& targets,
                                     const DnsConfig& config);

}  // namespace edge::dns
