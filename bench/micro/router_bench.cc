// gw7's router on the request path: every request runs one Match. Reports matches per second on
// one core for a realistic table (a few hosts, exact health paths, API prefixes, templates, one
// regex, a catch-all) and for a large generated table, to show that the cost depends on the
// path's segment count rather than the number of routes.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "l7/router/path_normalizer.h"
#include "l7/router/router.h"

namespace edge::l7 {
namespace {

RouteConfig Route(std::string name, std::string host, PathMatch kind, std::string path,
                  std::vector<std::string> methods = {}) {
  RouteConfig r;
  r.name = std::move(name);
  r.host = std::move(host);
  r.path_kind = kind;
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.upstream.assign(1, 'u');  // not = "u": GCC 12 -Wrestrict false positive (PR 105651)
  return r;
}

std::vector<RouteConfig> TypicalRoutes() {
  return {
      Route("health", "", PathMatch::kExact, "/healthz"),
      Route("products", "api.example.com", PathMatch::kPrefix, "/v1/products", {"GET", "POST"}),
      Route("orders", "api.example.com", PathMatch::kPrefix, "/v1/orders"),
      Route("user", "api.example.com", PathMatch::kTemplate, "/v1/users/{id}", {"GET"}),
      Route("user-orders", "api.example.com", PathMatch::kTemplate, "/v1/users/{id}/orders"),
      Route("legacy", "*.example.com", PathMatch::kRegex, "/legacy/[a-z]+/[0-9]+"),
      Route("static", "*.example.com", PathMatch::kPrefix, "/static/"),
      Route("web", "", PathMatch::kPrefix, "/"),
  };
}

std::vector<RouteConfig> ManyRoutes(int n) {
  std::vector<RouteConfig> routes;
  for (int i = 0; i < n; ++i) {
    const std::string s = std::to_string(i);
    routes.push_back(Route("p" + s, "", PathMatch::kPrefix, "/svc" + s + "/api"));
    routes.push_back(Route("e" + s, "", PathMatch::kExact, "/exact/" + s));
    routes.push_back(Route("h" + s, "host" + s + ".example.com", PathMatch::kPrefix, "/"));
  }
  return routes;
}

void Run(benchmark::State& state, std::vector<RouteConfig> routes, std::string_view host,
         std::string_view path, std::string_view method, std::string_view expect) {
  auto router = Router::Build(std::move(routes));
  if (!router.ok()) {
    state.SkipWithError("build failed");
    return;
  }
  auto no_headers = [](std::string_view) { return std::optional<std::string_view>(); };
  RouteMatch first = (*router)->Match(host, path, method, no_headers);
  if (first.route == nullptr || first.route->name != expect) {
    state.SkipWithError("unexpected route");
    return;
  }
  for (auto _ : state) {
    RouteMatch m = (*router)->Match(host, path, method, no_headers);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TypicalPrefix(benchmark::State& state) {
  Run(state, TypicalRoutes(), "api.example.com", "/v1/products/42/reviews", "GET", "products");
}
void BM_TypicalTemplate(benchmark::State& state) {
  Run(state, TypicalRoutes(), "api.example.com", "/v1/users/12345", "GET", "user");
}
void BM_TypicalExact(benchmark::State& state) {
  Run(state, TypicalRoutes(), "api.example.com", "/healthz", "GET", "health");
}
void BM_TypicalRegex(benchmark::State& state) {
  Run(state, TypicalRoutes(), "www.example.com", "/legacy/page/77", "GET", "legacy");
}
void BM_TypicalCatchAll(benchmark::State& state) {
  Run(state, TypicalRoutes(), "other.org", "/some/page/deep/in/the/site", "GET", "web");
}
void BM_ManyRoutesPrefix(benchmark::State& state) {
  Run(state, ManyRoutes(static_cast<int>(state.range(0))), "x.org", "/svc7/api/items/9", "GET",
      "p7");
}
void BM_ManyRoutesHost(benchmark::State& state) {
  Run(state, ManyRoutes(static_cast<int>(state.range(0))), "host9.example.com", "/a/b", "GET",
      "h9");
}

// The normalisation every request pays before Match: a path that needs no change (a view, no
// copy) and one with escapes and repeated slashes (rewritten into a reused buffer).
void Normalize(benchmark::State& state, std::string_view path) {
  std::string buffer;
  std::string_view out;
  for (auto _ : state) {
    PathRefusal r = NormalizePath(path, PathNormalization{}, &buffer, &out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_NormalizePlain(benchmark::State& state) { Normalize(state, "/v1/products/42/reviews"); }
void BM_NormalizeEncoded(benchmark::State& state) {
  Normalize(state, "/v1//products/%34%32/reviews%3a");
}

BENCHMARK(BM_TypicalPrefix);
BENCHMARK(BM_TypicalTemplate);
BENCHMARK(BM_TypicalExact);
BENCHMARK(BM_TypicalRegex);
BENCHMARK(BM_TypicalCatchAll);
BENCHMARK(BM_ManyRoutesPrefix)->Arg(10)->Arg(1000);
BENCHMARK(BM_ManyRoutesHost)->Arg(10)->Arg(1000);
BENCHMARK(BM_NormalizePlain);
BENCHMARK(BM_NormalizeEncoded);

}  // namespace
}  // namespace edge::l7

BENCHMARK_MAIN();
