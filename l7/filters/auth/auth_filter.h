#pragma once
// AuthFilter: the first filter of a route with `auth = "name"`. It authenticates the request with
// the named provider and either
//   - sets ctx.identity, passes the identity upstream as headers (consumer, scopes, configured
//     claims; any such headers the client sent are removed first so they cannot be forged) and
//     strips the credential when the provider says so, then continues; or
//   - stops with 401 and `WWW-Authenticate: <Bearer|ApiKey> realm="<provider>",
//     error="invalid_token", error_description="<reason>"` for a missing or bad credential.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "l7/filters/auth/auth_provider.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// Seconds since the epoch; injectable so tests can pin time.
using UnixClock = std::function<int64_t()>;
UnixClock SystemUnixClock();

class AuthFilter final : public Filter {
 public:
  AuthFilter(std::shared_ptr<const AuthProvider> provider, UnixClock clock);
  std::string_view name() const override { return "auth"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

 private:
  std::shared_ptr<const AuthProvider> provider_;
  UnixClock clock_;
};

// A WWW-Authenticate challenge: `scheme realm="realm", error="error"[, error_description="..."]
// [, scope="..."]`, with the quoted values escaped and stripped of control characters.
std::string AuthChallenge(std::string_view scheme, std::string_view realm, std::string_view error,
                          std::string_view description, std::string_view scope = "");

// Whether `value` may be sent as a header value as is (no CR, LF, NUL or other controls but tab).
bool IsSafeHeaderValue(std::string_view value);

}  // namespace edge::l7
