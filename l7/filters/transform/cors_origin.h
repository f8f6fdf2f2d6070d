#pragma once
// Origins as CORS compares them (RFC 6454; Fetch "CORS check"). A browser sends its origin
// serialised: lower-case scheme and host (IDNs as punycode), the port only when it is not the
// scheme's default, nothing else. gw7 matches a request's Origin against a route's list exactly on
// (scheme, host, port), after the same normalisation, so that a spelling trick cannot widen the
// list:
//   - "https://shop.example.com.evil.com", "https://evilshop.example.com" and
//     "https://shop.example.com:8443" do not match "https://shop.example.com";
//   - "null" (sandboxed documents, file: URLs, some redirects) never matches and cannot be
//     configured: any page can make its origin "null";
//   - anything with a path, query, fragment, user info, a trailing dot or slash, or bytes outside
//     the host grammar is not an origin and never matches;
//   - a pattern "https://*.example.com" matches hosts with one or more labels before
//     ".example.com" (not "example.com" itself), with that scheme and port.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::l7 {

struct CorsOrigin {
  std::string scheme;  // lower case
  std::string host;    // lower case; IPv6 in brackets; "*.suffix" for a configured pattern
  uint16_t port = 0;   // explicit or the scheme's default (0: a scheme without one)

  friend bool operator==(const CorsOrigin&, const CorsOrigin&) = default;
};

// Parses "scheme://host[:port]" (no path, not even "/"). `allow_wildcard`: the host may be
// "*.suffix" (for configured patterns). nullopt when it is not an origin.
std::optional<CorsOrigin> ParseOrigin(std::string_view text, bool allow_wildcard = false);

// Whether a request's origin is the configured `allowed` one (a pattern when its host starts
// with "*.").
bool OriginMatches(const CorsOrigin& allowed, const CorsOrigin& request);

}  // namespace edge::l7
