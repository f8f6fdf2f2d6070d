#include "l7/filters/transform/transform_filter_factory.h"

#include "l7/filters/transform/compression_filter.h"
#include "l7/filters/transform/cors_filter.h"
#include "l7/filters/transform/header_transform_filter.h"

namespace edge::l7 {

std::vector<std::unique_ptr<Filter>> BuildTransformFilters(const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> chain;
  if (!route.request_headers.empty() || !route.response_headers.empty()) {
    chain.push_back(
        std::make_unique<HeaderTransformFilter>(route.request_headers, route.response_headers));
  }
  if (route.cors) chain.push_back(std::make_unique<CorsFilter>(*route.cors, route.methods));
  if (route.compress) chain.push_back(std::make_unique<CompressionFilter>(*route.compress));
  return chain;
}

}  // namespace edge::l7
