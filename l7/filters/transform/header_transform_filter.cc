#include "l7/filters/transform/header_transform_filter.h"

#include <algorithm>

namespace edge::l7 {

FilterStatus HeaderTransformFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  for (const std::string& name : request_.remove) ctx.upstream_remove_headers.push_back(name);
  for (const auto& [name, value] : request_.set) {
    ctx.upstream_remove_headers.push_back(name);
    ctx.upstream_add_headers.emplace_back(name, value);
  }
  for (const auto& field : request_.add) ctx.upstream_add_headers.push_back(field);
  return FilterStatus::kContinue;
}

void HeaderTransformFilter::OnResponseHead(FilterContext& ctx, const http::HttpResponse& /*head*/) {
  if (response_.empty()) return;
  auto named = [&](std::string_view field) {
    auto same = [&](const std::string& n) { return http::EqualsIgnoreCase(n, field); };
    return std::any_of(response_.remove.begin(), response_.remove.end(), same) ||
           std::any_of(response_.set.begin(), response_.set.end(),
                       [&](const auto& kv) { return same(kv.first); });
  };
  std::erase_if(ctx.response_headers, [&](const auto& kv) { return named(kv.first); });
  for (const std::string& name : response_.remove) ctx.response_remove_headers.push_back(name);
  for (const auto& [name, value] : response_.set) {
    ctx.response_remove_headers.push_back(name);
    ctx.response_headers.emplace_back(name, value);
  }
  for (const auto& field : response_.add) ctx.response_headers.push_back(field);
}

}  // namespace edge::l7
