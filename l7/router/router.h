#pragma once
// Router: picks the route for a request from the routes of one config generation.
//
// Precedence (the most specific route wins, deterministically):
//   1. host: an exact host beats a wildcard "*.suffix" (a longer suffix beats a shorter one),
//      which beats a route without host; when no route of the most specific host matches the
//      rest of the request, the less specific ones are tried in that order;
//   2. then path: exact > template > prefix (a longer prefix beats a shorter one) > regex > any;
//      among templates, more literal segments win;
//   3. then constraints: a route with more of (methods list, each header match) beats one with
//      fewer;
//   4. then config order: the earlier route wins.
// A route matches when its host, path, headers and methods all match. A header match looks at the
// first header of that name and compares its value exactly (case-sensitive). Methods compare
// exactly; a route that lists GET also serves HEAD (HEAD is GET without the body, RFC 9110
// 9.3.2). A path_regex must match the whole path (RE2::FullMatch). If no route matches but some
// route matches everything except the method, the outcome is kMethodNotAllowed and `allow` lists
// the methods of all such routes (sorted, de-duplicated, HEAD added wherever GET is).
//
// Paths are matched as received, percent-encoding included, never decoded: decoding "%2F" or
// "%2e%2e" before matching would let a client reach a route ("/admin") through a path that the
// backend sees differently ("/public/..%2Fadmin"), the classic route-confusion bypass. A route
// that must match encoded forms says so with path_regex.
//
// Prefix semantics: path_prefix "/v1/products" matches "/v1/products", "/v1/products/7" and
// "/v1/products?x" (the query is not part of `path`), but not "/v1/productsX": the prefix must end
// at a segment boundary (or itself end with '/'), so that "/v1/products" never captures a sibling
// resource "/v1/products-admin". A prefix "/static/" does not match "/static".
//
// Rewrites (RouteMatch::upstream_path): strip_prefix removes a leading part that ends at a segment
// boundary ("/v1/x" minus "/v1" is "/x"; stripping everything gives "/"); prefix_rewrite replaces
// the matched path_prefix, keeping exactly one '/' at the seam ("/api/" -> "/v2" maps "/api/x" to
// "/v2/x").
//
// Matching cost: exact hosts are one hash lookup, wildcard suffixes are checked longest first; in
// each host group exact paths are one hash lookup, templates compare segment-wise against those of
// the same segment count, prefixes are one hash lookup per segment boundary of the path (so the
// number of prefix routes does not matter), regexes come last. Match does not allocate for
// ordinary paths besides the result. Routes are immutable after Build, so Match is const and can
// run concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "l7/config/gateway_config.h"

namespace edge::l7 {

struct RouteMatch {
  enum Outcome { kMatched, kNotFound, kMethodNotAllowed } outcome = kNotFound;
  const RouteConfig* route = nullptr;
  int route_index = -1;
  std::string allow;          // for 405: the methods that would match, "GET, HEAD, POST"
  std::string upstream_path;  // the path to send upstream after strip_prefix / prefix_rewrite
                              // (no query)
  std::vector<std::pair<std::string, std::string>> params;  // path_template captures
};

class Router {
 public:
  // Fails (InvalidArgument naming the route) on a route the config loader would have refused:
  // malformed template, regex that does not compile, empty name.
  static absl::StatusOr<std::unique_ptr<Router>> Build(std::vector<RouteConfig> routes);

  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // host: lower case, no port. header(name) returns the first header of that name
  // (case-insensitive). method is case-sensitive (HTTP methods are).
  RouteMatch Match(
      std::string_view host, std::string_view path, std::string_view method,
      absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header) const;

  const std::vector<RouteConfig>& routes() const { return routes_; }

 private:
  struct Index;  // precompiled lookup structures (router.cc)

  Router();

  std::vector<RouteConfig> routes_;
  std::unique_ptr<Index> index_;
};

}  // namespace edge::l7
