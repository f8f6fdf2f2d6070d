#pragma once
// Router: picks the route for a request from the routes of one config generation.
//
// Input: the path as normalised by NormalizePath (path_normalizer.h): unreserved escapes decoded,
// other escapes in upper-case hex, no dot segment, slashes merged (by default), no ';' (by
// default). The router does not decode anything itself: the path it matches is the path that
// goes upstream, so the route and the backend act on the same resource.
//
// Precedence (the most specific route wins, deterministically):
//   1. host: an exact host beats a wildcard "*.suffix" (a longer suffix beats a shorter one),
//      which beats a route without host; when no route of the most specific host matches the
//      path (and headers), the less specific ones are tried in that order;
//   2. then path, by specificity level: exact; exact with one trailing '/' dropped; template
//      (more literal segments first); template with one trailing '/' dropped; prefix (longest
//      first, each length a level); regex; any;
//   3. inside a level: a route with more of (methods list, each header match) beats one with
//      fewer, then config order.
// A header match looks at the first header of that name and compares its value exactly
// (case-sensitive); a route whose headers do not match does not match the path at all.
//
// Methods (RFC 9110 15.5.6): the first level with a route matching path and headers decides. A
// route of that level allowing the method wins; when none does, the outcome is kMethodNotAllowed
// with `allow` = the union of the methods of that level's routes (sorted, de-duplicated, HEAD
// wherever GET). It never falls through to a less specific route or host group: a "/" catch-all
// must not serve "DELETE /admin" because the "/admin" route only lists GET. Methods compare
// exactly ("get" is not "GET"); a route that lists GET also serves HEAD (RFC 9110 9.3.2).
//
// Trailing slash: an exact or template route also matches its path with one '/' appended
// ("/status/" matches path "/status", "/catalog/7/" matches "/catalog/{id}" with the same
// captures), unless the route itself ends with '/'. A path_regex must match the whole path
// (RE2::FullMatch).
//
// Case: paths compare case-sensitively unless the route says case_insensitive (ASCII folding of
// its literals and regex; captures keep the request's case). Safety net for case-insensitive
// upstreams behind case-sensitive routes: when the path has an upper-case letter and, with every
// route folded, the request would go to a route with `auth` (or get a 405 from a level holding
// one) while the real match is something else, the outcome is kCaseMismatch (404): "/ADMIN" is
// never served by the catch-all. Lower-case paths never pay for this check.
//
// Prefix semantics: path_prefix "/v1/products" matches "/v1/products", "/v1/products/7" and
// "/v1/products?x" (the query is not part of `path`), but not "/v1/productsX": the prefix must end
// at a segment boundary (or itself end with '/'), so that "/v1/products" never captures a sibling
// resource "/v1/products-admin". A prefix "/static/" does not match "/static".
//
// Rewrites (RouteMatch::upstream_path): strip_prefix removes a leading part that ends at a segment
// boundary ("/v1/x" minus "/v1" is "/x"; stripping everything gives "/"); prefix_rewrite replaces
// the matched path_prefix, keeping exactly one '/' at the seam ("/api/" -> "/v2" maps "/api/x" to
// "/v2/x"). On a case_insensitive route both compare case-insensitively.
//
// Host: compared lower case, one trailing dot dropped ("API.example.com." is "api.example.com").
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
  // kCaseMismatch: refused, see "Case" above (404 to the client).
  enum Outcome { kMatched, kNotFound, kMethodNotAllowed, kCaseMismatch } outcome = kNotFound;
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

  // host: without port (case and one trailing dot are dealt with here). path: normalised (see
  // above). header(name) returns the first header of that name (case-insensitive). method is
  // case-sensitive (HTTP methods are).
  RouteMatch Match(
      std::string_view host, std::string_view path, std::string_view method,
      absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header) const;

  const std::vector<RouteConfig>& routes() const { return routes_; }

 private:
  struct Index;  // precompiled lookup structures (router.cc)

  Router();

  std::vector<RouteConfig> routes_;
  std::unique_ptr<Index> index_;
  // Every route case-folded, for the case-mismatch check; nullptr when no case-sensitive route
  // has auth (nothing to protect).
  std::unique_ptr<Index> folded_;
};

}  // namespace edge::l7
