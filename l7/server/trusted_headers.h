#pragma once
// The request fields an upstream trusts because gw7 writes them (identity, forwarding, internal
// fields), and the checks that keep clients from forging them (SPEC-11, "Headers the upstream
// trusts"):
//  - StrippedFieldSet: the names removed from every client request and its trailers on every
//    route, in every spelling (l7/filters/field_spelling.h). Built once per config generation.
//  - IsValidForwardedList: whether a Forwarded value from a trusted proxy parses as RFC 7239, so
//    that a malformed one is dropped instead of swallowing gw7's own element.
//  - the h2c helpers: an "Upgrade: h2c" would turn the connection into an HTTP/2 tunnel past
//    routing, auth and limits, so the token goes unless the route allows it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"

namespace edge::l7 {

// A set of field names compared as SameFieldSpelling. Contains() is on the per-request path: a
// bit mask of the stored names' lengths turns away most names after one test, and the rest are
// compared only with names of their length.
class StrippedFieldSet {
 public:
  // The names gw7 always writes or owns: X-Consumer, X-Scopes, X-Forwarded-{For,Proto,Host,Port},
  // Forwarded, X-Real-IP, X-Request-Id.
  static StrippedFieldSet WithGatewayFields();
  // X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override ([gw7] keep_method_override).
  void AddMethodOverrideFields();

  void Add(std::string_view name);  // ignores a name already present
  bool Contains(std::string_view name) const;
  size_t size() const { return names_.size(); }

 private:
  static unsigned LengthBit(size_t n) { return n < 63 ? static_cast<unsigned>(n) : 63u; }
  uint64_t lengths_ = 0;
  std::vector<std::string> names_;  // folded
};

// RFC 7239 4: Forwarded = 1#forwarded-element, forwarded-element = [ forwarded-pair ] *( ";" [
// forwarded-pair ] ), forwarded-pair = token "=" value, value = token / quoted-string. Empty list
// elements are allowed (RFC 9110 5.6.1); an empty value, an unbalanced quote or a bad character
// is not.
bool IsValidForwardedList(std::string_view value);

// Whether the Upgrade fields of `headers` offer a protocol other than h2c.
bool OffersUpgradeOtherThanH2c(const http::HttpHeaders& headers);
// Appends the protocols of one Upgrade value, h2c left out, joined with ", ".
void AppendUpgradeWithoutH2c(std::string_view value, std::string* out);

}  // namespace edge::l7
