#pragma once
// HeaderTransformFilter: a route's request_headers and response_headers
// (header_transform_config.h). First in the route's chain, so that its response edits apply to
// every answer of the route: the upstream's, a cache hit, a CORS preflight, and gw7's own refusals
// (401, 429, 502...).
//
// Request: `remove` and `set` names go to ctx.upstream_remove_headers (the client's fields of that
// name are not forwarded), `set` and `add` values to ctx.upstream_add_headers. Fields gw7 adds
// itself later in the chain (X-Consumer after auth) are not touched.
//
// Response (OnResponseHead, the last filter to see the head): `remove` and
// `set` names go to ctx.response_remove_headers (the upstream's fields are dropped before the codec
// encodes the head) and are erased from the fields later filters added (ctx.response_headers);
// then `set` and `add` values are appended.

#include "l7/filters/filter.h"
#include "l7/filters/transform/header_transform_config.h"

namespace edge::l7 {

class HeaderTransformFilter final : public Filter {
 public:
  HeaderTransformFilter(HeaderEdits request, HeaderEdits response)
      : request_(std::move(request)), response_(std::move(response)) {}
  std::string_view name() const override { return "headers"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;
  void OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) override;

 private:
  HeaderEdits request_;
  HeaderEdits response_;
};

}  // namespace edge::l7
