#pragma once
// The authority of a URI as HTTP uses it (RFC 9110 4.2, 7.2): `host [":" port]`, from a Host field,
// an absolute-form target or a CONNECT target. Strict: the host is a name made of ALPHA DIGIT
// "-" "." "_" "~" (RFC 3986's unreserved set; its sub-delims and %HH are refused: no DNS name uses
// them and a "," or ";" in a host is an injection, not a name) or a bracketed IPv6 literal that
// inet_pton accepts (no zone id, no IPvFuture). The port, when the ":" is there, is 1 to 5 digits
// up to 65535 ("host:" is refused though RFC 3986 allows an empty port). No userinfo.

#include <cstdint>
#include <string_view>

namespace edge::http {

struct Authority {
  std::string_view host;  // as written; an IPv6 literal keeps its brackets
  bool has_port = false;
  uint16_t port = 0;
};

// Parses `text`; false when it is not a valid authority. An empty text is invalid (an empty Host
// field is legal, but it is not an authority: callers test for it first).
bool ParseAuthority(std::string_view text, Authority* out);

}  // namespace edge::http
