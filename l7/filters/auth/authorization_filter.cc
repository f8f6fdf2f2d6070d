#include "l7/filters/auth/authorization_filter.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "l7/filters/auth/auth_filter.h"

namespace edge::l7 {

bool ClaimMatches(std::string_view claim_value, std::string_view value) {
  return claim_value == value;
}

AuthorizationFilter::AuthorizationFilter(
    std::shared_ptr<const AuthProvider> provider, std::vector<std::string> require_scopes,
    std::vector<std::pair<std::string, std::string>> require_claims)
    : provider_(std::move(provider)),
      require_scopes_(std::move(require_scopes)),
      require_claims_(std::move(require_claims)) {
  for (const std::string& s : require_scopes_) {
    if (!scope_text_.empty()) scope_text_.push_back(' ');
    scope_text_ += s;
  }
}

FilterStatus AuthorizationFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  const std::string_view realm = provider_->name();
  if (!ctx.identity.authenticated) {
    ctx.response_headers.emplace_back(
        "WWW-Authenticate",
        AuthChallenge(provider_->scheme(), realm, "invalid_token", "not authenticated"));
    return ctx.Reject(401, "unauthorized", "not authenticated");
  }
  std::string missing;
  for (const std::string& scope : require_scopes_) {
    const auto& granted = ctx.identity.scopes;
    if (std::find(granted.begin(), granted.end(), scope) == granted.end()) {
      missing = absl::StrFormat("missing scope %s", scope);
      break;
    }
  }
  if (missing.empty()) {
    for (const auto& [claim, value] : require_claims_) {
      // Whole values only, no prefix, substring or case folding; an array claim has one entry
      // per element, and matches when one of them equals.
      bool ok = false;
      for (const auto& [name, have] : ctx.identity.claim_values) {
        if (name == claim && ClaimMatches(have, value)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        missing = absl::StrFormat("claim %s does not allow this", claim);
        break;
      }
    }
  }
  if (missing.empty()) return FilterStatus::kContinue;
  provider_->counters().forbidden.fetch_add(1, std::memory_order_relaxed);
  LOG_DEBUG("auth %s: route %s: consumer %s: 403 %s", realm, ctx.request.route_name(),
            ctx.identity.consumer, missing);
  ctx.response_headers.emplace_back(
      "WWW-Authenticate",
      AuthChallenge(provider_->scheme(), realm, "insufficient_scope", missing, scope_text_));
  ctx.report.auth = "forbidden";
  return ctx.Reject(403, "forbidden", missing);
}

}  // namespace edge::l7
