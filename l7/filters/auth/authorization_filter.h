#pragma once
// AuthorizationFilter: after authentication, checks a route's require_scopes (every scope must
// have been granted) and require_claims (each claim must have the value; for an array claim, one
// of its elements). A caller without the right gets 403 with `WWW-Authenticate: <scheme>
// realm="<provider>", error="insufficient_scope", scope="<required scopes>"`; a request that was
// not authenticated at all (a chain built without an AuthFilter before this one) gets 401.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "l7/filters/auth/auth_provider.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

class AuthorizationFilter final : public Filter {
 public:
  AuthorizationFilter(std::shared_ptr<const AuthProvider> provider,
                      std::vector<std::string> require_scopes,
                      std::vector<std::pair<std::string, std::string>> require_claims);
  std::string_view name() const override { return "authorization"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

 private:
  std::shared_ptr<const AuthProvider> provider_;
  std::vector<std::string> require_scopes_;
  std::vector<std::pair<std::string, std::string>> require_claims_;
  std::string scope_text_;  // require_scopes joined by spaces, for the challenge
};

// Whether one claim value (a scalar claim, or one element of an array claim: see
// Identity::claim_values) satisfies a required `value`: whole equality, no splitting on spaces,
// no prefix, substring or case folding.
bool ClaimMatches(std::string_view claim_value, std::string_view value);

}  // namespace edge::l7
