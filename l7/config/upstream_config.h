#pragma once
// The [[upstream]] tables of gateway.toml (DESIGN.md, config contract): servers and weights,
// balancing, timeouts, retries, passive and active health, protocol (http1 | h2c | h2) and TLS.
// Internal to l7/config: ParseGatewayConfig calls it for each table.

#include <cstddef>

#include "common/config/errors.h"
#include "l7/config/config_reading.h"
#include "l7/config/gateway_config.h"

namespace edge::l7::config_internal {

// Reads the `index`th [[upstream]] table into *upstream; errors go to `errors`.
void ReadUpstream(const toml::table& table, size_t index, config::ConfigErrors& errors,
                  UpstreamConfig* upstream, Origin* origin);

}  // namespace edge::l7::config_internal
