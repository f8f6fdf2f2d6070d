#pragma once
// CorsFilter: a route's `cors` policy (cors_config.h; README "CORS"). Runs before auth: a
// browser's preflight carries no credentials, so gw7 answers it itself, and the CORS fields also
// reach gw7's own refusals (a 401 or 429 the page's script must be able to read).
//
// Preflight (OPTIONS with Origin and Access-Control-Request-Method): answered here, never sent
// upstream. Allowed origin, method and every requested header: 204 with Access-Control-Allow-
// Origin (the origin echoed, or "*" for origins = ["*"] without credentials), -Allow-Methods,
// -Allow-Headers, -Allow-Credentials, -Max-Age. Otherwise 403 without any Access-Control-* field
// (Spring's choice; Kong answers 200 without them): a browser fails the preflight either way, and
// a 403 is visible as a refusal in the access log and gw7_errors_total{kind="cors_denied"}
// instead of looking like success. Nothing tells a denied page what would have been allowed.
//
// Other requests go on through the chain (auth still applies). With an allowed Origin the
// response gets Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers; with none or
// another origin it gets none, and the browser keeps the response from the page. Either way the
// upstream's own Access-Control-* fields are removed (the route's policy is gw7's, and an upstream
// echoing any origin must not undo it), and `Vary: Origin` tells caches that the answer depends
// on the Origin (unless origins = ["*"]). An OPTIONS that is not a preflight reaches the upstream
// only when the route's methods allow OPTIONS (the router lets OPTIONS through on CORS routes).

#include <string>
#include <vector>

#include "l7/filters/filter.h"
#include "l7/filters/transform/cors_config.h"

namespace edge::l7 {

class CorsFilter final : public Filter {
 public:
  // `route_methods`: the route's own methods (empty: any).
  CorsFilter(CorsConfig config, std::vector<std::string> route_methods);
  std::string_view name() const override { return "cors"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

  // Whether `origin` (a request's Origin value) is allowed by the policy.
  bool OriginAllowed(std::string_view origin) const;

 private:
  FilterStatus Preflight(FilterContext& ctx, std::string_view origin, std::string_view method);
  // Whether every name of an Access-Control-Request-Headers value is allowed.
  bool HeadersAllowed(std::string_view requested) const;
  // Access-Control-Allow-Origin for an allowed request from `origin`.
  std::string AllowOriginValue(std::string_view origin) const;

  CorsConfig config_;
  std::vector<std::string> route_methods_;
  std::string allow_methods_;  // "GET, POST"
  std::string allow_headers_;  // configured headers joined
  std::string expose_headers_;
  std::string max_age_;  // seconds, or empty
};

}  // namespace edge::l7
