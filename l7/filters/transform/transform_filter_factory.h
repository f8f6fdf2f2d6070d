#pragma once
// Builds the transform part of a route's filter chain, at its front (l7/server/filter_chain.cc):
//   headers (request_headers / response_headers) -> cors -> compress -> auth ...
// headers first so that its response edits reach every answer of the route (a CORS preflight and
// gw7's refusals too); cors before auth because a preflight carries no credentials; compress
// before the cache so that the cache keeps bodies as the upstream sent them.

#include <memory>
#include <vector>

#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// No filter for a route without request_headers, response_headers, cors or compress.
std::vector<std::unique_ptr<Filter>> BuildTransformFilters(const RouteConfig& route);

}  // namespace edge::l7
