#pragma once
// From a config with backends given by name to the config lb4 runs: every pool's named backends
// (NamedBackendConfig) become BackendConfigs of the addresses their DNS answers hold, appended to
// the pool's own. Pure functions: the resolving is done elsewhere (common/dns).

#include <vector>

#include "absl/status/statusor.h"
#include "common/dns/answer.h"
#include "common/dns/target.h"
#include "l4/config.h"

namespace edge::l4 {

// The names of every pool, without duplicates, in config order.
std::vector<dns::DnsTarget> NamedTargets(const Lb4Config& config);

// `config` with each named backend's endpoints appended to its pool's backends: a host name's
// addresses with the entry's weight, an SRV name's with the records' weights; health_port as the
// entry says. An address already in the pool (listed, or from an earlier name) is not added
// again. InvalidArgument naming the pool and the name when `answers` lacks one.
absl::StatusOr<Lb4Config> ExpandNamedBackends(Lb4Config config, const dns::AnswerMap& answers);

}  // namespace edge::l4
