#pragma once
// Builds the soap part of a route's filter chain (l7/server/filter_chain.cc): one SoapFilter for a
// route with `soap`, placed last before the proxy (after the cache, which then keeps the
// translated answer).

#include <memory>
#include <vector>

#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// No filter for a route without soap.
std::vector<std::unique_ptr<Filter>> BuildSoapFilters(const RouteConfig& route);

}  // namespace edge::l7
