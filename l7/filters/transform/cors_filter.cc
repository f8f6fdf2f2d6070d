#include "l7/filters/transform/cors_filter.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/http/chars.h"
#include "l7/filters/transform/field_list.h"

namespace edge::l7 {
namespace {

constexpr std::string_view kOwnedFields[] = {
    "access-control-allow-origin",   "access-control-allow-credentials",
    "access-control-expose-headers", "access-control-allow-methods",
    "access-control-allow-headers",  "access-control-max-age",
};

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), http::internal::IsTchar);
}

}  // namespace

CorsFilter::CorsFilter(CorsConfig config, std::vector<std::string> route_methods)
    : config_(std::move(config)), route_methods_(std::move(route_methods)) {
  allow_methods_ = absl::StrJoin(config_.methods, ", ");
  allow_headers_ = absl::StrJoin(config_.headers, ", ");
  expose_headers_ = absl::StrJoin(config_.expose_headers, ", ");
  if (config_.max_age) max_age_ = std::to_string(absl::ToInt64Seconds(*config_.max_age));
}

bool CorsFilter::OriginAllowed(std::string_view origin) const {
  if (origin == "null") return false;
  std::optional<CorsOrigin> o = ParseOrigin(origin);
  if (!o) return false;
  if (config_.any_origin) return true;
  return std::any_of(config_.origins.begin(), config_.origins.end(),
                     [&](const CorsOrigin& allowed) { return OriginMatches(allowed, *o); });
}

std::string CorsFilter::AllowOriginValue(std::string_view origin) const {
  if (config_.any_origin && !config_.credentials) return "*";
  return std::string(origin);
}

bool CorsFilter::HeadersAllowed(std::string_view requested) const {
  for (std::string_view name : SplitList(requested, ',')) {
    name = TrimOws(name);
    if (name.empty()) continue;
    if (!IsToken(name)) return false;
    if (config_.any_header) continue;
    if (std::none_of(config_.headers.begin(), config_.headers.end(),
                     [&](const std::string& h) { return http::EqualsIgnoreCase(h, name); })) {
      return false;
    }
  }
  return true;
}

FilterStatus CorsFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  for (std::string_view f : kOwnedFields) ctx.response_remove_headers.emplace_back(f);
  if (!config_.any_origin) ctx.response_headers.emplace_back("Vary", "Origin");
  const std::optional<std::string_view> origin = ctx.request.header("origin");
  // Two Origin fields: no browser sends that; whichever one a check used, the other could differ.
  const bool one_origin = origin.has_value() && ctx.request.header_count("origin") == 1;
  const bool options = ctx.request.method() == "OPTIONS";
  if (options && origin.has_value()) {
    if (std::optional<std::string_view> method =
            ctx.request.header("access-control-request-method")) {
      if (!one_origin) {
        ctx.error_kind = "cors_denied";
        return ctx.Reject(403, "cors_denied",
                          "this route's CORS policy does not allow the request");
      }
      return Preflight(ctx, *origin, *method);
    }
  }
  if (options && !route_methods_.empty() &&
      std::find(route_methods_.begin(), route_methods_.end(), "OPTIONS") == route_methods_.end()) {
    // Routed only because the route has a CORS policy (router.cc): not a method of the route.
    ctx.response_headers.emplace_back("Allow", absl::StrJoin(route_methods_, ", "));
    ctx.error_kind = "method_not_allowed";
    return ctx.Reject(405, "method_not_allowed", "method not allowed on this route");
  }
  if (one_origin && OriginAllowed(*origin)) {
    ctx.response_headers.emplace_back("Access-Control-Allow-Origin", AllowOriginValue(*origin));
    if (config_.credentials) {
      ctx.response_headers.emplace_back("Access-Control-Allow-Credentials", "true");
    }
    if (!expose_headers_.empty()) {
      ctx.response_headers.emplace_back("Access-Control-Expose-Headers", expose_headers_);
    }
  }
  return FilterStatus::kContinue;
}

FilterStatus CorsFilter::Preflight(FilterContext& ctx, std::string_view origin,
                                   std::string_view method) {
  ctx.response_headers.emplace_back(
      "Vary", "Access-Control-Request-Method, Access-Control-Request-Headers");
  const std::string_view requested_headers =
      ctx.request.header("access-control-request-headers").value_or(std::string_view());
  const bool method_ok =
      std::find(config_.methods.begin(), config_.methods.end(), method) != config_.methods.end();
  if (!OriginAllowed(origin) || !method_ok || !HeadersAllowed(requested_headers) ||
      ctx.request.header_count("access-control-request-method") != 1) {
    ctx.error_kind = "cors_denied";
    return ctx.Reject(403, "cors_denied", "this route's CORS policy does not allow the request");
  }
  ctx.response_headers.emplace_back("Access-Control-Allow-Origin", AllowOriginValue(origin));
  if (config_.credentials) {
    ctx.response_headers.emplace_back("Access-Control-Allow-Credentials", "true");
  }
  ctx.response_headers.emplace_back("Access-Control-Allow-Methods", allow_methods_);
  if (config_.any_header) {
    if (!TrimOws(requested_headers).empty()) {
      ctx.response_headers.emplace_back("Access-Control-Allow-Headers",
                                        std::string(TrimOws(requested_headers)));
    }
  } else if (!allow_headers_.empty()) {
    ctx.response_headers.emplace_back("Access-Control-Allow-Headers", allow_headers_);
  }
  if (!max_age_.empty()) ctx.response_headers.emplace_back("Access-Control-Max-Age", max_age_);
  if (ctx.stream == nullptr) {  // a filter tested alone
    ctx.stop_status = 204;
    return FilterStatus::kStop;
  }
  // Answered here: the response (and the request) may end inside SendEnd, so nothing of ctx is
  // touched after it.
  http::HttpResponse head;
  head.status = 204;
  head.reason = "No Content";
  FilterStream* stream = ctx.stream;
  stream->SendHead(head);
  stream->SendEnd(nullptr);
  return FilterStatus::kRespond;
}

}  // namespace edge::l7
