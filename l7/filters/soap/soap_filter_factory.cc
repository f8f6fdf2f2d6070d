#include "l7/filters/soap/soap_filter_factory.h"

#include "l7/filters/soap/soap_filter.h"

namespace edge::l7 {

std::vector<std::unique_ptr<Filter>> BuildSoapFilters(const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> chain;
  if (route.soap == nullptr) return chain;
  chain.push_back(std::make_unique<SoapFilter>(
      route.soap, route.path_kind == PathMatch::kTemplate ? route.path : std::string()));
  return chain;
}

}  // namespace edge::l7
