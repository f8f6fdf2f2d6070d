#pragma once
// Percent-encoding (RFC 3986 2.1) for the places outside the HTTP/1 parser that decode names and
// values: query parameters (API keys, purge targets, redaction), admin path segments, paths.

#include <optional>
#include <string>
#include <string_view>

namespace edge::http {

// The value of one hex digit, or -1 for any other byte.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a query component (application/x-www-form-urlencoded: '+' is a space); nullopt for a
// '%' not followed by two hex digits.
std::optional<std::string> DecodeQueryComponent(std::string_view text);

}  // namespace edge::http
