#include "l7/server/filter_chain.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

TEST(FilterChainTest, RouteWithoutFiltersHasAnEmptyChain) {
  GatewayConfig config;
  RouteConfig route;
  route.name = "r";
  auto chain = BuildRouteFilters(config, route, FilterEnvironment{});
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_TRUE(chain->empty());
}

TEST(FilterChainTest, UnknownProviderIsAnErrorNamingTheRoute) {
  auto config = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:0\"\n[[upstream]]\nname = \"u\"\nservers = "
      "[\"127.0.0.1:9\"]\n[[route]]\nname = \"r\"\nupstream = \"u\"\n",
      "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  RouteConfig route = config->routes[0];
  route.auth = "nobody";
  auto chain = BuildRouteFilters(*config, route, FilterEnvironment{});
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.status().message().find("route \"r\""), std::string_view::npos) << chain.status();
}

}  // namespace
}  // namespace edge::l7
