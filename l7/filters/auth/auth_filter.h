#pragma once
// AuthFilter: the first filter of a route with `auth = "name"`. It authenticates the request with
// the named provider and either
//   - sets ctx.identity, passes the identity upstream as headers (consumer, scopes, configured
//     claims; the server strips any such fields the client sent, on every route) and removes the
//     credential (field or query parameter) unless the provider says forward_credential, then
//     continues; or
//   - stops with 400 (error kind duplicate_credential) when the request carries the provider's
//     credential twice: two Authorization fields or two credentials in one, two API-key fields
//     (in any spelling), two API-key query parameters (compared percent-decoded); or
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

// Whether an Authorization value holds more than one credential: a comma outside a quoted-string
// (a token68 such as a bearer token never holds one).
bool HasTwoCredentials(std::string_view authorization);

// Where the request carries `provider`'s credential more than once ("" when it does not).
std::string_view DuplicateCredential(const AuthProvider& provider, const RequestView& request);

// Whether `value` may be sent as a header value as is (no CR, LF, NUL or other controls but tab).
bool IsSafeHeaderValue(std::string_view value);

}  // namespace edge::l7
