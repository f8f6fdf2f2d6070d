// Fuzz target: the helpers gw7's auth filter reads credentials with (l7/filters/auth/). The input
// is split at its first '\n' into A and B (B empty without one) and every helper runs on them:
//   - BearerToken(A): a token is a b64token, a substring of A that ends A, after "Bearer " (any
//     case): it never holds a separator (space, comma, quote) it should have been split on, and
//     HasTwoCredentials(A) is false whenever a token came out;
//   - the query helpers on query A and parameter name B: QueryParameter finds a value exactly when
//     CountQueryParameter is not 0 (or the value's %-escape is malformed); QueryWithout leaves no
//     such parameter, keeps every other pair in order, and is idempotent; the percent decoding
//     round-trips a fully percent-encoded A;
//   - ClaimMatches(A, B): every value matches itself, and a match is never a case-folded or
//     partial one: B is found in A as is;
//   - field spellings: SameFieldSpelling is symmetric and agrees with StrippedFieldSet;
//   - IsValidForwardedList(A): a valid list has balanced quotes.
// Any failed property aborts (a finding).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/http/percent.h"
#include "l7/filters/auth/api_key.h"
#include "l7/filters/auth/auth_filter.h"
#include "l7/filters/auth/auth_provider.h"
#include "l7/filters/auth/authorization_filter.h"
#include "l7/filters/field_spelling.h"
#include "l7/server/trusted_headers.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool IsB64TokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

void CheckBearer(std::string_view a) {
  auto token = edge::l7::BearerToken(a);
  if (!token) return;
  Check(!token->empty());
  Check(token->data() >= a.data() && token->data() + token->size() <= a.data() + a.size());
  Check(a.size() > 7 &&
        (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer " || (a[0] | 0x20) == 'b'));
  for (char c : *token) Check(IsB64TokenChar(c));
  // '=' only as padding at the end.
  const size_t eq = token->find('=');
  if (eq != std::string_view::npos)
    Check(token->find_first_not_of('=', eq) == std::string_view::npos);
  Check(!edge::l7::HasTwoCredentials(a));
  // Trailing whitespace aside, the token is what ends the value.
  std::string_view rest = a.substr(static_cast<size_t>(token->data() - a.data()) + token->size());
  Check(rest.find_first_not_of(" \t") == std::string_view::npos);
}

size_t CountPairs(std::string_view q) {
  if (q.empty()) return 0;
  size_t n = 1;
  for (char c : q) n += c == '&' ? 1 : 0;
  return n;
}

void CheckQuery(std::string_view query, std::string_view name) {
  if (name.empty() || name.find_first_of("&=") != std::string_view::npos) return;
  const size_t count = edge::l7::CountQueryParameter(query, name);
  auto value = edge::l7::QueryParameter(query, name);
  if (count == 0) Check(!value.has_value());
  if (value) Check(count > 0 && value->size() <= query.size());

  const std::string without = edge::l7::QueryWithout(query, name);
  Check(edge::l7::CountQueryParameter(without, name) == 0);
  Check(!edge::l7::QueryParameter(without, name).has_value());
  Check(edge::l7::QueryWithout(without, name) == without);
  Check(without.size() <= query.size());
  // Every other pair is kept: a query without empty pairs loses exactly the matching ones.
  if (query.find("&&") == std::string_view::npos && !query.starts_with('&') &&
      !query.ends_with('&')) {
    Check(CountPairs(without) + count == CountPairs(query));
  }
}

void CheckPercentRoundTrip(std::string_view a) {
  std::string encoded;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : a) {
    const unsigned char u = static_cast<unsigned char>(c);
    encoded.push_back('%');
    encoded.push_back(kHex[u >> 4]);
    encoded.push_back(kHex[u & 15]);
  }
  auto decoded = edge::http::DecodeQueryComponent(encoded);
  Check(decoded.has_value() && *decoded == a);
  // Text without '%' or '+' decodes to itself; any decoding never grows.
  auto plain = edge::http::DecodeQueryComponent(a);
  if (a.find_first_of("%+") == std::string_view::npos) Check(plain.has_value() && *plain == a);
  if (plain) Check(plain->size() <= a.size());
}

void CheckClaims(std::string_view a, std::string_view b) {
  Check(edge::l7::ClaimMatches(a, a));
  Check(edge::l7::ClaimMatches(b, b));
  if (!b.empty() && edge::l7::ClaimMatches(a, b)) Check(a.find(b) != std::string_view::npos);
}

void CheckSpellings(std::string_view a, std::string_view b) {
  const bool same = edge::l7::SameFieldSpelling(a, b);
  Check(same == edge::l7::SameFieldSpelling(b, a));
  if (a.empty()) return;
  edge::l7::StrippedFieldSet set;
  set.Add(a);
  Check(set.Contains(a));
  Check(set.Contains(b) == same);
}

void CheckForwarded(std::string_view a) {
  if (!edge::l7::IsValidForwardedList(a)) return;
  size_t quotes = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == '\\' && quotes % 2 == 1) {
      ++i;
    } else if (a[i] == '"') {
      ++quotes;
    }
  }
  Check(quotes % 2 == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  const std::string_view a = text.substr(0, nl);
  const std::string_view b =
      nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  CheckBearer(a);
  CheckQuery(a, b);
  CheckQuery(a, "api_key");
  CheckPercentRoundTrip(a);
  CheckClaims(a, b);
  CheckSpellings(a, b);
  CheckForwarded(a);
  return 0;
}
